package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;

/**
 * Scores pooled over several sequence simulations. Immutable and thread-safe.
 *
 * @param scoredSequenceSimulations the per-sequence results
 * @param evCorrelationScore pooled correlation (the preferred score), or {@code null}
 * @param rsquaredScore pooled r², or {@code null}
 * @param absoluteDevExplainedScore pooled absolute deviation explained, or {@code null}
 */
public record ScoredSimulation(
    List<ScoredSequenceSimulation> scoredSequenceSimulations,
    Double evCorrelationScore,
    Double rsquaredScore,
    Double absoluteDevExplainedScore)
    implements FastDataclass {

  public ScoredSimulation {
    scoredSequenceSimulations = List.copyOf(scoredSequenceSimulations);
  }

  /** The preferred score: the pooled correlation. */
  public Double preferredScore() {
    return evCorrelationScore;
  }

  @Override
  public String dataclassName() {
    return "ScoredSimulation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("scored_sequence_simulations", scoredSequenceSimulations);
    m.put("ev_correlation_score", evCorrelationScore);
    m.put("rsquared_score", rsquaredScore);
    m.put("absolute_dev_explained_score", absoluteDevExplainedScore);
    return m;
  }
}
