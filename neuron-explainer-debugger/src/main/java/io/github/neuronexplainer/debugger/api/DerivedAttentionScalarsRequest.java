package io.github.neuronexplainer.debugger.api;

/**
 * A single-spec request (the original's {@code DerivedAttentionScalarsRequest}): one prompt and one
 * {@link DerivedAttentionScalarsRequestSpec}. Immutable and thread-safe.
 */
public record DerivedAttentionScalarsRequest(
    InferenceRequestSpec inferenceRequestSpec,
    DerivedAttentionScalarsRequestSpec derivedAttentionScalarsRequestSpec) {
  public DerivedAttentionScalarsRequest {
    Immutable.required(
        inferenceRequestSpec, "inferenceRequestSpec", "DerivedAttentionScalarsRequest");
    Immutable.required(
        derivedAttentionScalarsRequestSpec,
        "derivedAttentionScalarsRequestSpec",
        "DerivedAttentionScalarsRequest");
  }
}
