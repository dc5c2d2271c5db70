package io.github.neuronexplainer.explanations.batch;

import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.explanations.client.UsageTotals;
import java.util.List;
import java.util.Map;

/**
 * Outcome of a batch run. Immutable.
 *
 * @param total neurons in the batch
 * @param skipped neurons already done by an earlier run
 * @param succeeded neurons explained and scored now
 * @param failures neurons that failed now, with the reason (they are retried by a rerun)
 * @param bestScores per neuron scored now, its best explanation score ({@code null} when undefined)
 * @param usage API usage during the run, or {@code null} when no usage source was given
 */
public record BatchSummary(
    int total,
    int skipped,
    int succeeded,
    List<Failure> failures,
    Map<NeuronId, Double> bestScores,
    UsageTotals usage) {
  /**
   * One failed neuron.
   *
   * @param neuronId the neuron
   * @param error what went wrong
   */
  public record Failure(NeuronId neuronId, String error) {}

  /** Mean of the defined best scores, or NaN. */
  public double meanBestScore() {
    return bestScores.values().stream()
        .filter(s -> s != null && !s.isNaN())
        .mapToDouble(Double::doubleValue)
        .average()
        .orElse(Double.NaN);
  }
}
