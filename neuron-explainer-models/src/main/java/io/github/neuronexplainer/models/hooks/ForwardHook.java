package io.github.neuronexplainer.models.hooks;

import ai.djl.ndarray.NDArray;

/**
 * Sees the tensor at a hook point during the forward pass and returns the tensor that continues the
 * pass: the same one to only observe, another one to ablate or edit.
 */
@FunctionalInterface
public interface ForwardHook {
  NDArray apply(NDArray activation, HookContext context);
}
