package io.github.neuronexplainer.explanations.fewshot;

import io.github.neuronexplainer.core.records.ActivationRecord;
import java.util.List;

/**
 * A few-shot example for neuron explanation and simulation. Immutable.
 *
 * @param activationRecords the example's records (raw activations)
 * @param explanation its explanation
 * @param firstRevealedActivationIndices per record, the first position the simulator prompt reveals
 * @param tokenIndexToScore for single-token prediction examples, the scored position; otherwise
 *     {@code null}
 */
public record Example(
    List<ActivationRecord> activationRecords,
    String explanation,
    List<Integer> firstRevealedActivationIndices,
    Integer tokenIndexToScore) {
  public Example {
    activationRecords = List.copyOf(activationRecords);
    firstRevealedActivationIndices = List.copyOf(firstRevealedActivationIndices);
  }
}
