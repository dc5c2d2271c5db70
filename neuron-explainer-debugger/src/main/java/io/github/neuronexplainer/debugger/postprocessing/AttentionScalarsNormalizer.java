package io.github.neuronexplainer.debugger.postprocessing;

import io.github.neuronexplainer.debugger.api.TokenAndAttentionScalars;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The original's {@code normalize_attention_token_scalars} (read_routes.py) for one sequence: every
 * token's row of scalars normalized by the largest positive scalar {@code M} as {@code max(x / (M −
 * 1e-5), 0)} (so the largest becomes slightly above 1, quirk 9; with {@code M = 0} negatives blow
 * up, as in the original), plus the row's total and max ("in") and the column's total and max over
 * later tokens ("out"), each normalized the same way by its own maximum. All arithmetic in double,
 * as the original's Python floats.
 *
 * <p>Stateless and thread-safe.
 */
public final class AttentionScalarsNormalizer {
  private AttentionScalarsNormalizer() {}

  /** One token of a sequence: its text and its scalars for itself and earlier tokens. */
  public record Row(String token, List<Double> scalars) {
    public Row {
      scalars = List.copyOf(scalars);
    }
  }

  /**
   * Normalizes one sequence.
   *
   * @throws IllegalArgumentException if a row has more scalars than its position + 1
   */
  public static List<TokenAndAttentionScalars> normalize(List<Row> rows) {
    int n = rows.size();
    for (int i = 0; i < n; i++) {
      if (rows.get(i).scalars().size() > i + 1) {
        throw new IllegalArgumentException(
            "Row " + i + " has " + rows.get(i).scalars().size() + " scalars");
      }
    }
    double maxScalar = 0;
    for (Row row : rows) {
      for (double a : row.scalars()) {
        maxScalar = Math.max(maxScalar, a);
      }
    }
    double[] totalIn =
        summary(rows, r -> r.scalars().stream().mapToDouble(Double::doubleValue).sum());
    double[] maxIn =
        summary(
            rows, r -> r.scalars().stream().mapToDouble(Double::doubleValue).max().orElseThrow());
    double[] totalOut = new double[n];
    double[] maxOut = new double[n];
    for (int j = 0; j < n; j++) {
      double sum = 0;
      double max = Double.NEGATIVE_INFINITY;
      for (int i = j; i < n; i++) {
        List<Double> scalars = rows.get(i).scalars();
        if (j < scalars.size()) {
          sum += scalars.get(j);
          max = Math.max(max, scalars.get(j));
        }
      }
      totalOut[j] = sum;
      maxOut[j] = max;
    }
    List<TokenAndAttentionScalars> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Row row = rows.get(i);
      List<Double> normalized = new ArrayList<>();
      for (double a : row.scalars()) {
        normalized.add(scale(a, maxScalar));
      }
      out.add(
          new TokenAndAttentionScalars(
              row.token(),
              row.scalars(),
              normalized,
              totalIn[i],
              scale(totalIn[i], positiveMax(totalIn)),
              maxIn[i],
              scale(maxIn[i], positiveMax(maxIn)),
              totalOut[i],
              scale(totalOut[i], positiveMax(totalOut)),
              maxOut[i],
              scale(maxOut[i], positiveMax(maxOut))));
    }
    return out;
  }

  /** The original's {@code create_scale_linear(m)(x)}. */
  public static double scale(double x, double max) {
    return Math.max((x - 0) / (max - 1e-5), 0);
  }

  private static double[] summary(List<Row> rows, ToDoubleFunction<Row> f) {
    double[] out = new double[rows.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = f.applyAsDouble(rows.get(i));
    }
    return out;
  }

  private static double positiveMax(double[] values) {
    double max = 0;
    for (double v : values) {
      max = Math.max(max, v);
    }
    return max;
  }
}
