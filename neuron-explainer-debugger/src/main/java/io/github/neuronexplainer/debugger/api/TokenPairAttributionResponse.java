package io.github.neuronexplainer.debugger.api;

/** The answer to a {@link TokenPairAttributionRequest}. Immutable and thread-safe. */
public record TokenPairAttributionResponse(
    InferenceAndTokenData inferenceAndTokenData,
    TokenPairAttributionResponseData tokenPairAttributionResponseData) {
  public TokenPairAttributionResponse {
    Immutable.required(
        inferenceAndTokenData, "inferenceAndTokenData", "TokenPairAttributionResponse");
    Immutable.required(
        tokenPairAttributionResponseData,
        "tokenPairAttributionResponseData",
        "TokenPairAttributionResponse");
  }
}
