package io.github.neuronexplainer.debugger.api;

import java.util.List;

/**
 * One token's row of a token-pair matrix (its value for itself and every earlier token), each
 * normalized by the largest positive value, with the row's total and max ("in": this token
 * attending) and the column's total and max ("out": later tokens attending to it), each normalized
 * by its own largest positive value. Immutable.
 */
public record TokenAndAttentionScalars(
    String token,
    List<Double> scalars,
    List<Double> normalizedScalars,
    double totalScalarIn,
    double normalizedTotalScalarIn,
    double maxScalarIn,
    double normalizedMaxScalarIn,
    double totalScalarOut,
    double normalizedTotalScalarOut,
    double maxScalarOut,
    double normalizedMaxScalarOut) {

  public TokenAndAttentionScalars {
    scalars = List.copyOf(scalars);
    normalizedScalars = List.copyOf(normalizedScalars);
  }
}
