package io.github.neuronexplainer.debugger.api;

import java.util.List;

/**
 * Several prompts run side by side in one pass (the original's {@code BatchedRequest}). Top-k specs
 * of the same name share their node list across the batch. Immutable and thread-safe.
 */
public record BatchedRequest(List<InferenceSubRequest> inferenceSubRequests) {
  public BatchedRequest {
    inferenceSubRequests =
        List.copyOf(
            Immutable.required(inferenceSubRequests, "inferenceSubRequests", "BatchedRequest"));
  }

  public static BatchedRequest of(InferenceSubRequest... subRequests) {
    return new BatchedRequest(List.of(subRequests));
  }
}
