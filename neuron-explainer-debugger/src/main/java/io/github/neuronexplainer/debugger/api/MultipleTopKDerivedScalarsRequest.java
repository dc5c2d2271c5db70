package io.github.neuronexplainer.debugger.api;

/**
 * A single-spec request (the original's {@code MultipleTopKDerivedScalarsRequest}): one prompt and
 * one {@link MultipleTopKDerivedScalarsRequestSpec}. Immutable and thread-safe.
 */
public record MultipleTopKDerivedScalarsRequest(
    InferenceRequestSpec inferenceRequestSpec,
    MultipleTopKDerivedScalarsRequestSpec multipleTopKDerivedScalarsRequestSpec) {
  public MultipleTopKDerivedScalarsRequest {
    Immutable.required(
        inferenceRequestSpec, "inferenceRequestSpec", "MultipleTopKDerivedScalarsRequest");
    Immutable.required(
        multipleTopKDerivedScalarsRequestSpec,
        "multipleTopKDerivedScalarsRequestSpec",
        "MultipleTopKDerivedScalarsRequest");
  }
}
