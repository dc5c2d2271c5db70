package io.github.neuronexplainer.debugger.api;

import java.util.List;

/**
 * What every response says about the run (the original's {@code InferenceAndTokenData}): timing
 * (seconds; memory fields are CUDA-only in the original and always null here), the loss (null
 * without one, or when NaN), the traced activation's value (null without a trace), and the prompt's
 * tokens (strings decoded one token at a time).
 *
 * <p>Immutable and thread-safe.
 */
public record InferenceAndTokenData(
    double inferenceTime,
    Double memoryUsedBefore,
    Double memoryUsedAfter,
    String log,
    Double loss,
    Double activationValueForBackwardPass,
    List<Integer> tokensAsInts,
    List<String> tokensAsStrings) {

  public InferenceAndTokenData {
    tokensAsInts =
        List.copyOf(Immutable.required(tokensAsInts, "tokensAsInts", "InferenceAndTokenData"));
    tokensAsStrings =
        List.copyOf(
            Immutable.required(tokensAsStrings, "tokensAsStrings", "InferenceAndTokenData"));
  }
}
