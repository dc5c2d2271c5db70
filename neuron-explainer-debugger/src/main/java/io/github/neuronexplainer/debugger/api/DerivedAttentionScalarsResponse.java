package io.github.neuronexplainer.debugger.api;

/** The answer to a {@link DerivedAttentionScalarsRequest}. Immutable and thread-safe. */
public record DerivedAttentionScalarsResponse(
    InferenceAndTokenData inferenceAndTokenData,
    DerivedAttentionScalarsResponseData derivedAttentionScalarsResponseData) {
  public DerivedAttentionScalarsResponse {
    Immutable.required(
        inferenceAndTokenData, "inferenceAndTokenData", "DerivedAttentionScalarsResponse");
    Immutable.required(
        derivedAttentionScalarsResponseData,
        "derivedAttentionScalarsResponseData",
        "DerivedAttentionScalarsResponse");
  }
}
