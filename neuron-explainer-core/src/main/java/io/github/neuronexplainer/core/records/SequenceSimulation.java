package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * A simulated activation sequence. Expected values keep the int/float distinction of the original
 * (the logprob-free parser yields int {@code 0} for malformed entries). Immutable and thread-safe.
 *
 * @param tokens the simulated tokens
 * @param expectedActivations one expected value per token
 * @param activationScale units of the values
 * @param distributionValues per token, the activation values with probability mass ({@code []} for
 *     the JSON simulator)
 * @param distributionProbabilities per token, probabilities parallel to the values
 * @param uncalibratedSimulation the simulation before calibration, or {@code null}
 */
public record SequenceSimulation(
    List<String> tokens,
    List<Number> expectedActivations,
    ActivationScale activationScale,
    List<List<Double>> distributionValues,
    List<List<Double>> distributionProbabilities,
    SequenceSimulation uncalibratedSimulation)
    implements FastDataclass {

  public SequenceSimulation {
    tokens = List.copyOf(Objects.requireNonNull(tokens, "tokens"));
    expectedActivations =
        ActivationRecord.Numbers.immutableCopy(expectedActivations, "expectedActivations");
    Objects.requireNonNull(activationScale, "activationScale");
    distributionValues = distributionValues.stream().map(List::copyOf).toList();
    distributionProbabilities = distributionProbabilities.stream().map(List::copyOf).toList();
  }

  /** The expected values as a primitive array. */
  public double[] expectedActivationArray() {
    return ActivationRecord.Numbers.toArray(expectedActivations);
  }

  @Override
  public String dataclassName() {
    return "SequenceSimulation";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("tokens", tokens);
    m.put("expected_activations", expectedActivations);
    m.put("activation_scale", activationScale);
    m.put("distribution_values", distributionValues);
    m.put("distribution_probabilities", distributionProbabilities);
    m.put("uncalibrated_simulation", uncalibratedSimulation);
    return m;
  }
}
