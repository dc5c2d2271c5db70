package io.github.neuronexplainer.explanations.prompt;

/** Chat message roles; {@link #value()} is what the API sees. */
public enum Role {
  SYSTEM("system"),
  USER("user"),
  ASSISTANT("assistant");

  private final String value;

  Role(String value) {
    this.value = value;
  }

  /** The API string. */
  public String value() {
    return value;
  }

  /** Parses the API string. */
  public static Role fromValue(String value) {
    for (Role r : values()) {
      if (r.value.equals(value)) {
        return r;
      }
    }
    throw new IllegalArgumentException(
        "Unknown role '" + value + "'; expected system, user or assistant");
  }
}
