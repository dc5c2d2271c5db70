package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;

/**
 * Token-pair predictions with their ROC-AUC. Immutable and thread-safe.
 *
 * @param attentionSimulations the predictions
 * @param rocAucScore ROC-AUC (the preferred score), or {@code null}
 */
public record ScoredAttentionSimulation(
    List<AttentionSimulation> attentionSimulations, Double rocAucScore) implements FastDataclass {
  public ScoredAttentionSimulation {
    attentionSimulations = List.copyOf(attentionSimulations);
  }

  /** The preferred score: ROC-AUC. */
  public Double preferredScore() {
    return rocAucScore;
  }

  @Override
  public String dataclassName() {
    return "ScoredAttentionSimulation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("attention_simulations", attentionSimulations);
    m.put("roc_auc_score", rocAucScore);
    return m;
  }
}
