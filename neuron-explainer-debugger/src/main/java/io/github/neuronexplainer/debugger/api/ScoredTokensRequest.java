package io.github.neuronexplainer.debugger.api;

/**
 * A single-spec request (the original's {@code ScoredTokensRequest}): one prompt and one {@link
 * ScoredTokensRequestSpec}. Immutable and thread-safe.
 */
public record ScoredTokensRequest(
    InferenceRequestSpec inferenceRequestSpec, ScoredTokensRequestSpec scoredTokensRequestSpec) {
  public ScoredTokensRequest {
    Immutable.required(inferenceRequestSpec, "inferenceRequestSpec", "ScoredTokensRequest");
    Immutable.required(scoredTokensRequestSpec, "scoredTokensRequestSpec", "ScoredTokensRequest");
  }
}
