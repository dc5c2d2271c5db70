package io.github.neuronexplainer.explanations.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Expected activations from top logprobs. Stateless. */
public final class Logprobs {
  /** Highest normalised activation. */
  public static final int MAX_NORMALIZED_ACTIVATION = 10;

  /** Exactly the strings "0".."10" count as activation tokens. */
  public static final Set<String> VALID_ACTIVATION_TOKENS =
      Set.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10");

  private Logprobs() {}

  /** {@code int(token) -> exp(logprob)} for valid tokens, in the object's key order. */
  public static LinkedHashMap<Integer, Double> parseTopLogprobs(JsonNode topLogprobs) {
    LinkedHashMap<Integer, Double> out = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = topLogprobs.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (VALID_ACTIVATION_TOKENS.contains(e.getKey())) {
        out.put(Integer.parseInt(e.getKey()), Math.exp(e.getValue().doubleValue()));
      }
    }
    return out;
  }

  /** Normalised distribution and expected value; empty and 0.0 when no valid token is present. */
  public static TokenPrediction computePredictedActivationStats(JsonNode topLogprobs) {
    LinkedHashMap<Integer, Double> probabilities = parseTopLogprobs(topLogprobs);
    double total = 0;
    for (double p : probabilities.values()) {
      total += p;
    }
    LinkedHashMap<Integer, Double> normalized = new LinkedHashMap<>();
    for (Map.Entry<Integer, Double> e : probabilities.entrySet()) {
      normalized.put(e.getKey(), e.getValue() / total);
    }
    return new TokenPrediction(normalized, computeExpectedValue(normalized));
  }

  /** {@code Σ value × probability}. */
  public static double computeExpectedValue(Map<Integer, Double> normalizedProbabilities) {
    double ev = 0;
    for (Map.Entry<Integer, Double> e : normalizedProbabilities.entrySet()) {
      ev += e.getKey() * e.getValue();
    }
    return ev;
  }
}
