package io.github.neuronexplainer.debugger.api;

import java.util.List;

/** TDB requests run side by side (e.g. clean and ablated). Immutable and thread-safe. */
public record BatchedTdbRequest(List<TdbRequestSpec> subRequests) {
  public BatchedTdbRequest {
    subRequests = List.copyOf(Immutable.required(subRequests, "subRequests", "BatchedTdbRequest"));
  }

  public static BatchedTdbRequest of(TdbRequestSpec... subRequests) {
    return new BatchedTdbRequest(List.of(subRequests));
  }
}
