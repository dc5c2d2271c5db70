package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;

/**
 * Set the activation (forward pass) or the gradient (backward pass) at {@code index} to {@code
 * value} during the run (the original's {@code AblationSpec}). Null tensor indices are the
 * original's {@code "All"}; a null layer at a layered location means every layer.
 *
 * <p>Immutable and thread-safe.
 */
public record AblationSpec(ActivationIndex index, double value) {
  public AblationSpec {
    Immutable.required(index, "index", "AblationSpec");
  }
}
