package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;

/**
 * The scorer's prediction for one token pair. Immutable and thread-safe.
 *
 * @param tokens the sequence
 * @param tokenPairCoords {@code [from, to]} token indices
 * @param tokenPairLabel 1 for a top-activating pair, 0 for a low one
 * @param simulationPrediction predicted probability that the head activates
 */
public record AttentionSimulation(
    List<String> tokens,
    List<Integer> tokenPairCoords,
    int tokenPairLabel,
    double simulationPrediction)
    implements FastDataclass {
  public AttentionSimulation {
    tokens = List.copyOf(tokens);
    tokenPairCoords = List.copyOf(tokenPairCoords);
    if (tokenPairCoords.size() != 2) {
      throw new IllegalArgumentException(
          "tokenPairCoords must be [from, to], got " + tokenPairCoords);
    }
  }

  @Override
  public String dataclassName() {
    return "AttentionSimulation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("tokens", tokens);
    m.put("token_pair_coords", tokenPairCoords.stream().map(Integer::longValue).toList());
    m.put("token_pair_label", (long) tokenPairLabel);
    m.put("simulation_prediction", simulationPrediction);
    return m;
  }
}
