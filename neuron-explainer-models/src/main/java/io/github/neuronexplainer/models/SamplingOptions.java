package io.github.neuronexplainer.models;

/**
 * How {@link Transformer#sample} picks tokens: {@code temperature} 0 is greedy (argmax); otherwise
 * tokens are drawn from softmax(logits / temperature), restricted to the nucleus of probability
 * mass {@code topP} when it is set (the original's {@code nucleus_sample}). {@code seed} makes
 * draws reproducible. Immutable.
 */
public record SamplingOptions(int numTokens, double temperature, Double topP, long seed) {
  public SamplingOptions {
    if (numTokens < 1) {
      throw new IllegalArgumentException("numTokens must be at least 1, got " + numTokens);
    }
    if (temperature < 0 || Double.isNaN(temperature)) {
      throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
    }
    if (topP != null && !(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
    }
  }

  /** Greedy decoding of {@code numTokens} tokens. */
  public static SamplingOptions greedy(int numTokens) {
    return new SamplingOptions(numTokens, 0, null, 0);
  }
}
