package io.github.neuronexplainer.core.records;

/** Units of simulated activations; the JSON value is {@link #value()}. */
public enum ActivationScale {
  NEURON_ACTIVATIONS("neuron_activations"),
  SIMULATED_NORMALIZED_ACTIVATIONS("simulated_normalized_activations"),
  HUMAN_PREDICTED_ACTIVATIONS("human_predicted_activations");

  private final String value;

  ActivationScale(String value) {
    this.value = value;
  }

  /** The string written to JSON. */
  public String value() {
    return value;
  }

  /** Parses the JSON value. */
  public static ActivationScale fromValue(String value) {
    for (ActivationScale s : values()) {
      if (s.value.equals(value)) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "'"
            + value
            + "' is not a valid ActivationScale; expected one of "
            + "neuron_activations, simulated_normalized_activations, human_predicted_activations");
  }
}
