package io.github.neuronexplainer.debugger.api;

/**
 * A single-spec request (the original's {@code DerivedScalarsRequest}): one prompt and one {@link
 * DerivedScalarsRequestSpec}. Immutable and thread-safe.
 */
public record DerivedScalarsRequest(
    InferenceRequestSpec inferenceRequestSpec,
    DerivedScalarsRequestSpec derivedScalarsRequestSpec) {
  public DerivedScalarsRequest {
    Immutable.required(inferenceRequestSpec, "inferenceRequestSpec", "DerivedScalarsRequest");
    Immutable.required(
        derivedScalarsRequestSpec, "derivedScalarsRequestSpec", "DerivedScalarsRequest");
  }
}
