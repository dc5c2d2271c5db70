package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * All scored explanations of one attention head. Legacy field {@code attention_id} is accepted on
 * read. Immutable and thread-safe.
 *
 * @param attentionHeadId the head
 * @param scoredExplanations its scored explanations
 */
public record AttentionSimulationResults(
    NeuronId attentionHeadId, List<ScoredAttentionExplanation> scoredExplanations)
    implements FastDataclass {
  public AttentionSimulationResults {
    Objects.requireNonNull(attentionHeadId, "attentionHeadId");
    scoredExplanations = List.copyOf(scoredExplanations);
  }

  @Override
  public String dataclassName() {
    return "AttentionSimulationResults";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("attention_head_id", attentionHeadId);
    m.put("scored_explanations", scoredExplanations);
    return m;
  }
}
