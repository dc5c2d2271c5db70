package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.Objects;

/**
 * An attention-head explanation with its scores. Immutable and thread-safe.
 *
 * @param explanation the explanation text
 * @param scoredAttentionSimulation its scores
 */
public record ScoredAttentionExplanation(
    String explanation, ScoredAttentionSimulation scoredAttentionSimulation)
    implements FastDataclass {
  public ScoredAttentionExplanation {
    Objects.requireNonNull(explanation, "explanation");
    Objects.requireNonNull(scoredAttentionSimulation, "scoredAttentionSimulation");
  }

  @Override
  public String dataclassName() {
    return "ScoredAttentionExplanation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("explanation", explanation);
    m.put("scored_attention_simulation", scoredAttentionSimulation);
    return m;
  }
}
