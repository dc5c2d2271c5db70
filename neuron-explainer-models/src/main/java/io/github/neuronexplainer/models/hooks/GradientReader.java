package io.github.neuronexplainer.models.hooks;

import ai.djl.ndarray.NDArray;

/**
 * Receives d(loss)/d(activation) at a hook point after the backward pass. The gradient array is
 * owned by the pass: attach it, or a copy, to keep it.
 */
@FunctionalInterface
public interface GradientReader {
  void read(NDArray gradient, HookContext context);
}
