package io.github.neuronexplainer.explanations.explainer;

/**
 * Sampling options of an explanation request. Immutable; use the {@code with*} methods.
 *
 * @param numSamples completions to request ({@code n})
 * @param maxTokens completion budget, also reserved when checking the prompt length
 * @param temperature sampling temperature
 * @param topP nucleus sampling
 * @param numberedListOfNExplanations ask for a numbered list of this many explanations, or {@code
 *     null}
 */
public record GenerationOptions(
    int numSamples,
    int maxTokens,
    double temperature,
    double topP,
    Integer numberedListOfNExplanations) {
  /** The original's defaults: 1 sample, 60 tokens, temperature 1.0, top_p 1.0, no numbered list. */
  public static final GenerationOptions DEFAULTS = new GenerationOptions(1, 60, 1.0, 1.0, null);

  public GenerationOptions {
    if (numSamples < 1 || maxTokens < 0) {
      throw new IllegalArgumentException("numSamples must be >= 1 and maxTokens >= 0");
    }
    if (numberedListOfNExplanations != null && numberedListOfNExplanations <= 0) {
      throw new IllegalArgumentException(
          "numberedListOfNExplanations must be > 0, got " + numberedListOfNExplanations);
    }
  }

  public GenerationOptions withNumSamples(int n) {
    return new GenerationOptions(n, maxTokens, temperature, topP, numberedListOfNExplanations);
  }

  public GenerationOptions withMaxTokens(int n) {
    return new GenerationOptions(numSamples, n, temperature, topP, numberedListOfNExplanations);
  }

  public GenerationOptions withTemperature(double t) {
    return new GenerationOptions(numSamples, maxTokens, t, topP, numberedListOfNExplanations);
  }

  public GenerationOptions withTopP(double p) {
    return new GenerationOptions(
        numSamples, maxTokens, temperature, p, numberedListOfNExplanations);
  }

  public GenerationOptions withNumberedList(Integer n) {
    return new GenerationOptions(numSamples, maxTokens, temperature, topP, n);
  }
}
