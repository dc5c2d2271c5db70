package io.github.neuronexplainer.debugger.api;

import java.util.List;

/** One answer per sub-request, in order. Immutable and thread-safe. */
public record BatchedResponse(List<InferenceResponseAndResponseDict> inferenceSubResponses) {
  public BatchedResponse {
    inferenceSubResponses =
        List.copyOf(
            Immutable.required(inferenceSubResponses, "inferenceSubResponses", "BatchedResponse"));
  }
}
