package io.github.neuronexplainer.explanations.simulator;

/** The logprob-based simulator kinds. */
public enum SimulationType {
  /** {@link ExplanationNeuronSimulator}. */
  ALL_AT_ONCE("all_at_once"),
  /** {@link ExplanationTokenByTokenSimulator}. */
  ONE_AT_A_TIME("one_at_a_time");

  private final String value;

  SimulationType(String value) {
    this.value = value;
  }

  /** The original's string value. */
  public String value() {
    return value;
  }

  /** Parses {@code "all_at_once"} or {@code "one_at_a_time"}. */
  public static SimulationType fromString(String s) {
    for (SimulationType t : values()) {
      if (t.value.equals(s)) {
        return t;
      }
    }
    throw new IllegalArgumentException("Invalid simulation type: " + s);
  }
}
