package io.github.neuronexplainer.debugger.api;

/**
 * A single-spec request (the original's {@code TokenPairAttributionRequest}): one prompt and one
 * {@link TokenPairAttributionRequestSpec}. Immutable and thread-safe.
 */
public record TokenPairAttributionRequest(
    InferenceRequestSpec inferenceRequestSpec,
    TokenPairAttributionRequestSpec tokenPairAttributionRequestSpec) {
  public TokenPairAttributionRequest {
    Immutable.required(inferenceRequestSpec, "inferenceRequestSpec", "TokenPairAttributionRequest");
    Immutable.required(
        tokenPairAttributionRequestSpec,
        "tokenPairAttributionRequestSpec",
        "TokenPairAttributionRequest");
  }
}
