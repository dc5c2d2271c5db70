package io.github.neuronexplainer.models.hooks;

import ai.djl.ndarray.NDArray;

/**
 * Replaces the gradient flowing backward through a hook point (the original's backward hooks:
 * backward ablations, "fake gradients"). Receives d(loss)/d(activation) and returns the gradient to
 * propagate upstream instead.
 */
@FunctionalInterface
public interface GradientEditor {
  NDArray edit(NDArray gradient, HookContext context);
}
