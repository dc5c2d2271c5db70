package io.github.neuronexplainer.debugger.api;

/** The run-level part of a sub-response. Immutable and thread-safe. */
public record InferenceResponse(InferenceAndTokenData inferenceAndTokenData) {
  public InferenceResponse {
    Immutable.required(inferenceAndTokenData, "inferenceAndTokenData", "InferenceResponse");
  }
}
