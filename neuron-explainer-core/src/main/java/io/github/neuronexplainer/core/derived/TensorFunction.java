package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;

/**
 * Computes one layer of a DST from its sources' tensors at that layer (in source order). The result
 * may be a new array or one of the inputs; intermediates are freed by the caller's scope.
 * Implementations must be stateless and thread-safe.
 */
@FunctionalInterface
public interface TensorFunction {
  NDArray apply(List<NDArray> inputs, int layer, PassType passType);
}
