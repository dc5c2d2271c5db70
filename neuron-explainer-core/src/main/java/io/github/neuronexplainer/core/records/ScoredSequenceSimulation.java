package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * A simulation of one sequence with its scores against the true (raw) activations. Scores are
 * {@code null} when absent; NaN is written as JSON {@code null}. Immutable and thread-safe.
 *
 * @param sequenceSimulation the simulation
 * @param trueActivations raw activations (not normalised)
 * @param evCorrelationScore correlation of expected values with the true activations
 * @param rsquaredScore r², or {@code null}
 * @param absoluteDevExplainedScore absolute deviation explained, or {@code null}
 */
public record ScoredSequenceSimulation(
    SequenceSimulation sequenceSimulation,
    List<Number> trueActivations,
    Double evCorrelationScore,
    Double rsquaredScore,
    Double absoluteDevExplainedScore)
    implements FastDataclass {

  public ScoredSequenceSimulation {
    Objects.requireNonNull(sequenceSimulation, "sequenceSimulation");
    trueActivations =
        trueActivations == null
            ? null
            : ActivationRecord.Numbers.immutableCopy(trueActivations, "trueActivations");
  }

  @Override
  public String dataclassName() {
    return "ScoredSequenceSimulation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("sequence_simulation", sequenceSimulation);
    m.put("true_activations", trueActivations);
    m.put("ev_correlation_score", evCorrelationScore);
    m.put("rsquared_score", rsquaredScore);
    m.put("absolute_dev_explained_score", absoluteDevExplainedScore);
    return m;
  }
}
