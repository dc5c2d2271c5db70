package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.Objects;

/**
 * An explanation with its simulation scores. Legacy class name {@code ScoredExplanationOrBaseline}
 * and field {@code explanation_or_baseline} are accepted on read. Immutable and thread-safe.
 *
 * @param explanation the explanation text
 * @param scoredSimulation its scores
 */
public record ScoredExplanation(String explanation, ScoredSimulation scoredSimulation)
    implements FastDataclass {
  public ScoredExplanation {
    Objects.requireNonNull(explanation, "explanation");
    Objects.requireNonNull(scoredSimulation, "scoredSimulation");
  }

  /** The preferred score of the simulation. */
  public Double preferredScore() {
    return scoredSimulation.evCorrelationScore();
  }

  @Override
  public String dataclassName() {
    return "ScoredExplanation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("explanation", explanation);
    m.put("scored_simulation", scoredSimulation);
    return m;
  }
}
