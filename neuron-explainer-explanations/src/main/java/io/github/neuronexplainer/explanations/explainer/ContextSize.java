package io.github.neuronexplainer.explanations.explainer;

/** Model context window sizes the explainers plan for. */
public enum ContextSize {
  TWO_K(2049),
  FOUR_K(4097);

  private final int tokens;

  ContextSize(int tokens) {
    this.tokens = tokens;
  }

  /** The window in tokens. */
  public int tokens() {
    return tokens;
  }

  /** Parses 2049 or 4097. */
  public static ContextSize fromInt(int i) {
    for (ContextSize c : values()) {
      if (c.tokens == i) {
        return c;
      }
    }
    throw new IllegalArgumentException(i + " is not a valid ContextSize");
  }
}
