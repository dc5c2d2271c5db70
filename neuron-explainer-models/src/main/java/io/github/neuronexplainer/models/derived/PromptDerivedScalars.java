package io.github.neuronexplainer.models.derived;

import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.RawActivationStore;

/**
 * What {@link DerivedScalarComputation} returns for one prompt: the derived scalars, the raw
 * activations they were derived from, the loss value ({@code NaN} without a loss) and the value of
 * the traced activation the backward pass started from (the original's {@code
 * activation_value_for_backward_pass}; {@code NaN} without a trace). Owns both stores; close it
 * when done.
 *
 * <p>Reads may be concurrent; closing is not thread-safe.
 */
public record PromptDerivedScalars(
    DerivedScalarStore derivedScalars,
    RawActivationStore rawActivations,
    float loss,
    float tracedValue)
    implements AutoCloseable {
  @Override
  public void close() {
    derivedScalars.close();
    rawActivations.close();
  }
}
