package io.github.neuronexplainer.explanations.simulator;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A predicted activation distribution for one token: normalised probabilities per activation value
 * (in the order the API listed them) and the expected value. Immutable.
 *
 * @param normalizedProbabilities activation value (0..10) to probability
 * @param expectedValue sum of value × probability
 */
public record TokenPrediction(Map<Integer, Double> normalizedProbabilities, double expectedValue) {
  public TokenPrediction {
    normalizedProbabilities =
        Collections.unmodifiableMap(new LinkedHashMap<>(normalizedProbabilities));
  }

  /** The activation values as floats, in order. */
  public List<Double> values() {
    List<Double> out = new ArrayList<>();
    normalizedProbabilities.keySet().forEach(k -> out.add((double) k));
    return out;
  }

  /** The probabilities, in order. */
  public List<Double> probabilities() {
    return new ArrayList<>(normalizedProbabilities.values());
  }
}
