package io.github.neuronexplainer.models.derived;

import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.RawActivationStore;

/**
 * What {@link DerivedScalarComputation#getDerivedScalarsForPrompt} returns: the derived scalars,
 * the raw activations they were derived from, and the loss value ({@code NaN} without a loss).
 * Owns both stores; close it when done.
 *
 * <p>Reads may be concurrent; closing is not thread-safe.
 */
public record PromptDerivedScalars(
    DerivedScalarStore derivedScalars, RawActivationStore rawActivations, float loss)
    implements AutoCloseable {
  @Override
  public void close() {
    derivedScalars.close();
    rawActivations.close();
  }
}
