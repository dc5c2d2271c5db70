package io.github.neuronexplainer.debugger.api;

/** The answer to a {@link MultipleTopKDerivedScalarsRequest}. Immutable and thread-safe. */
public record MultipleTopKDerivedScalarsResponse(
    InferenceAndTokenData inferenceAndTokenData,
    MultipleTopKDerivedScalarsResponseData multipleTopKDerivedScalarsResponseData) {
  public MultipleTopKDerivedScalarsResponse {
    Immutable.required(
        inferenceAndTokenData, "inferenceAndTokenData", "MultipleTopKDerivedScalarsResponse");
    Immutable.required(
        multipleTopKDerivedScalarsResponseData,
        "multipleTopKDerivedScalarsResponseData",
        "MultipleTopKDerivedScalarsResponse");
  }
}
