package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * An intermediate sum of 0 to 3 dimensions (the original's {@code TensorND}), told apart in JSON by
 * {@code tensorType}. Non-finite values of 1-D to 3-D sums are written as -999, as in the original.
 * Implementations are immutable.
 */
public sealed interface TensorND {
  @JsonProperty(value = "tensorType", index = 0)
  String tensorType();

  /** A scalar. */
  record Tensor0D(double value) implements TensorND {
    @Override
    public String tensorType() {
      return "tensor_0d";
    }
  }

  /** A vector. */
  record Tensor1D(List<Double> value) implements TensorND {
    public Tensor1D {
      value = List.copyOf(value);
    }

    @Override
    public String tensorType() {
      return "tensor_1d";
    }
  }

  /** A matrix (rows). */
  record Tensor2D(List<List<Double>> value) implements TensorND {
    public Tensor2D {
      value = value.stream().map(List::copyOf).toList();
    }

    @Override
    public String tensorType() {
      return "tensor_2d";
    }
  }

  /** A 3-D tensor. */
  record Tensor3D(List<List<List<Double>>> value) implements TensorND {
    public Tensor3D {
      value = value.stream().map(m -> m.stream().map(List::copyOf).toList()).toList();
    }

    @Override
    public String tensorType() {
      return "tensor_3d";
    }
  }
}
