package io.github.neuronexplainer.debugger.api;

/** The answer to a {@link DerivedScalarsRequest}. Immutable and thread-safe. */
public record DerivedScalarsResponse(
    InferenceAndTokenData inferenceAndTokenData,
    DerivedScalarsResponseData derivedScalarsResponseData) {
  public DerivedScalarsResponse {
    Immutable.required(inferenceAndTokenData, "inferenceAndTokenData", "DerivedScalarsResponse");
    Immutable.required(
        derivedScalarsResponseData, "derivedScalarsResponseData", "DerivedScalarsResponse");
  }
}
