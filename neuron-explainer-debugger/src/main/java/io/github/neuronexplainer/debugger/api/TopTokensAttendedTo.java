package io.github.neuronexplainer.debugger.api;

import java.util.List;

/** The attended-to token positions with the largest attributions, descending. Immutable. */
public record TopTokensAttendedTo(List<Integer> tokenIndices, List<Double> attributions) {
  public TopTokensAttendedTo {
    tokenIndices =
        List.copyOf(Immutable.required(tokenIndices, "tokenIndices", "TopTokensAttendedTo"));
    attributions =
        List.copyOf(Immutable.required(attributions, "attributions", "TopTokensAttendedTo"));
  }
}
