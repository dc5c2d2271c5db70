package io.github.neuronexplainer.debugger.api;

import java.util.Map;

/**
 * One prompt of a batched request: how to run it and, by name (in order: the order matters, as a
 * spec may depend on an earlier one), what to extract. Immutable and thread-safe.
 */
public record InferenceSubRequest(
    InferenceRequestSpec inferenceRequestSpec,
    Map<String, ProcessingRequestSpec> processingRequestSpecByName) {

  public InferenceSubRequest {
    Immutable.required(inferenceRequestSpec, "inferenceRequestSpec", "InferenceSubRequest");
    processingRequestSpecByName = Immutable.mapOrEmpty(processingRequestSpecByName);
  }
}
