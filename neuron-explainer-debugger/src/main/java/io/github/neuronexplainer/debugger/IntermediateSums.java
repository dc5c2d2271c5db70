package io.github.neuronexplainer.debugger;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.debugger.api.TensorND;
import java.util.ArrayList;
import java.util.List;

/**
 * The original's {@code get_intermediate_sum_by_dst} (dst_helpers.py): a DST summed over every
 * layer, every pass type in the store (quirk 4: with derive-gradients the backward entries are
 * added too) and every dimension not kept; non-finite elements of a 1-D to 3-D sum become -999.
 */
final class IntermediateSums {
  private IntermediateSums() {}

  static TensorND sum(DerivedScalarStore store, DerivedScalarType dst, List<Dimension> keep) {
    List<Dimension> spec = dst.shapeSpecPerTokenSequence();
    List<Integer> summed = new ArrayList<>();
    for (int d = 0; d < spec.size(); d++) {
      if (!keep.contains(spec.get(d))) {
        summed.add(d);
      }
    }
    int[] axes = summed.stream().mapToInt(Integer::intValue).toArray();
    List<NDArray> tensors = new ArrayList<>();
    for (var entry : store.entries().entrySet()) {
      if (entry.getKey().dst() == dst) {
        ActivationsAndMetadata values = entry.getValue();
        values.layerIndices().forEach(layer -> tensors.add(values.get(layer)));
      }
    }
    if (tensors.isEmpty()) {
      throw new IllegalStateException("No values of " + dst.value() + " to sum");
    }
    NDArray total = null;
    try (NDManager scratch = NDManager.newBaseManager(tensors.get(0).getDevice())) {
      for (NDArray tensor : tensors) {
        NDArray x = tensor.toType(DataType.FLOAT32, true);
        x.attach(scratch);
        NDArray s = axes.length == 0 ? x : x.sum(axes);
        total = total == null ? s : total.add(s);
      }
      long[] shape = total.getShape().getShape();
      float[] v = total.toFloatArray();
      return switch (shape.length) {
        case 0 -> new TensorND.Tensor0D(v[0]);
        case 1 -> new TensorND.Tensor1D(row(v, 0, (int) shape[0]));
        case 2 -> {
          List<List<Double>> rows = new ArrayList<>();
          for (int i = 0; i < shape[0]; i++) {
            rows.add(row(v, (int) (i * shape[1]), (int) shape[1]));
          }
          yield new TensorND.Tensor2D(rows);
        }
        case 3 -> {
          List<List<List<Double>>> matrices = new ArrayList<>();
          for (int i = 0; i < shape[0]; i++) {
            List<List<Double>> rows = new ArrayList<>();
            for (int j = 0; j < shape[1]; j++) {
              rows.add(row(v, (int) ((i * shape[1] + j) * shape[2]), (int) shape[2]));
            }
            matrices.add(rows);
          }
          yield new TensorND.Tensor3D(matrices);
        }
        default ->
            throw new IllegalStateException(
                "Intermediate sums have at most 3 dimensions; keeping "
                    + keep
                    + " of "
                    + dst.value()
                    + " leaves "
                    + shape.length);
      };
    }
  }

  private static List<Double> row(float[] v, int offset, int n) {
    List<Double> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      float f = v[offset + i];
      out.add(Float.isFinite(f) ? f : -999.0);
    }
    return out;
  }
}
