package io.github.neuronexplainer.debugger.api;

/** The answer to a {@link ScoredTokensRequest}. Immutable and thread-safe. */
public record ScoredTokensResponse(
    InferenceAndTokenData inferenceAndTokenData,
    ScoredTokensResponseData scoredTokensResponseData) {
  public ScoredTokensResponse {
    Immutable.required(inferenceAndTokenData, "inferenceAndTokenData", "ScoredTokensResponse");
    Immutable.required(
        scoredTokensResponseData, "scoredTokensResponseData", "ScoredTokensResponse");
  }
}
