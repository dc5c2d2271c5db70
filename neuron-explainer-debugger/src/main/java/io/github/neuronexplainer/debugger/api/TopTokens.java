package io.github.neuronexplainer.debugger.api;

import java.util.List;

/**
 * A node's highest-scoring tokens (descending) and lowest-scoring tokens (ascending, most negative
 * first); the original swaps the two lists, without negating, for a negative activation. Immutable.
 */
public record TopTokens(List<TokenAndScalar> top, List<TokenAndScalar> bottom) {
  public TopTokens {
    top = List.copyOf(Immutable.required(top, "top", "TopTokens"));
    bottom = List.copyOf(Immutable.required(bottom, "bottom", "TopTokens"));
  }
}
