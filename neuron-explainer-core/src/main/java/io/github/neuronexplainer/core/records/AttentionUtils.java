package io.github.neuronexplainer.core.records;

import java.util.ArrayList;
import java.util.List;

/**
 * Token-pair index arithmetic for attention records ({@code attention_utils.py}). The activations
 * of one record are the lower triangle (diagonal included) of the {@code T×T} matrix {@code
 * A[from][to]}, flattened row-major by the "from" token: {@code flat(i, j) = i(i+1)/2 + j}. When
 * the attended-to window is shorter than the sequence ({@code M < T}), rows have lengths {@code 1,
 * 2, …, M, M, …, M}. Coordinates are {@code [from, to]}. Stateless and thread-safe.
 */
public final class AttentionUtils {
  private AttentionUtils() {}

  /** The {@code m} with {@code m(m+1)/2 == n}; fails if {@code n} is not triangular. */
  public static long inverseTriangularNumber(long n) {
    check(n >= 0, "n must be >= 0, got " + n);
    long m = ((long) Math.floor(Math.sqrt((double) (1 + 8 * n))) - 1) / 2;
    check(m * (m + 1) / 2 == n, n + " is not a triangular number");
    return m;
  }

  /**
   * The attended-to window length {@code M} implied by {@code numActivations} for {@code T} tokens.
   */
  public static int maxNumAttendedToSequenceTokens(int numSequenceTokens, long numActivations) {
    long pairs = (long) numSequenceTokens * (numSequenceTokens + 1) / 2;
    if (numActivations == pairs) {
      return numSequenceTokens;
    }
    check(
        numActivations < pairs,
        numActivations
            + " activations is more than the "
            + pairs
            + " token pairs of "
            + numSequenceTokens
            + " tokens");
    long missingTokens = inverseTriangularNumber(pairs - numActivations);
    long max = numSequenceTokens - missingTokens;
    check(
        max > 0,
        "No attended-to tokens left for "
            + numSequenceTokens
            + " tokens and "
            + numActivations
            + " activations");
    return (int) max;
  }

  /** Row lengths {@code [1, 2, …, M] + [M] * (T - M)}. */
  public static List<Integer> attendedToSequenceLengthPerSequenceToken(
      int numSequenceTokens, int maxNumAttendedToSequenceTokens) {
    check(
        numSequenceTokens >= maxNumAttendedToSequenceTokens,
        "window "
            + maxNumAttendedToSequenceTokens
            + " is longer than the sequence "
            + numSequenceTokens);
    List<Integer> out = new ArrayList<>();
    for (int i = 1; i <= maxNumAttendedToSequenceTokens; i++) {
      out.add(i);
    }
    for (int i = maxNumAttendedToSequenceTokens; i < numSequenceTokens; i++) {
      out.add(maxNumAttendedToSequenceTokens);
    }
    return out;
  }

  /** Row lengths for {@code T} tokens and {@code numActivations} values. */
  public static List<Integer> attendedToSequenceLengths(
      int numSequenceTokens, long numActivations) {
    return attendedToSequenceLengthPerSequenceToken(
        numSequenceTokens, maxNumAttendedToSequenceTokens(numSequenceTokens, numActivations));
  }

  /**
   * Square-matrix conversion with the original's double arithmetic (breaks, like it, near n =
   * 2^27).
   */
  public static long[] unflattenAssumingSquare(long flatIndex) {
    long n = (long) Math.floor((-1 + Math.sqrt((double) (1 + 8 * flatIndex))) / 2);
    long m = flatIndex - n * (n + 1) / 2;
    return new long[] {n, m};
  }

  /** {@code [from, to]} of a flat index in a full triangle. */
  public static int[] unflatten(int flatIndex) {
    long[] r = unflattenAssumingSquare(flatIndex);
    return new int[] {(int) r[0], (int) r[1]};
  }

  /**
   * {@code [row, index within row]} of a flat index for {@code T} tokens and {@code numActivations}
   * values; uses the square formula when the triangle is full.
   */
  public static int[] unflatten(long flatIndex, int numSequenceTokens, long numActivations) {
    if (numActivations == (long) numSequenceTokens * (numSequenceTokens + 1) / 2) {
      long[] r = unflattenAssumingSquare(flatIndex);
      return new int[] {(int) r[0], (int) r[1]};
    }
    check(
        flatIndex < numActivations,
        "flat index " + flatIndex + " >= " + numActivations + " activations");
    List<Integer> lengths = attendedToSequenceLengths(numSequenceTokens, numActivations);
    long cumulative = 0;
    for (int row = 0; row < lengths.size(); row++) {
      if (flatIndex < cumulative + lengths.get(row)) {
        return new int[] {row, (int) (flatIndex - cumulative)};
      }
      cumulative += lengths.get(row);
    }
    throw new IllegalArgumentException("flat index " + flatIndex + " out of range");
  }

  /**
   * The original's signature: give both {@code numSequenceTokens} and {@code numActivations}, or
   * neither (square matrix).
   */
  public static int[] unflattenOptional(
      long flatIndex, Integer numSequenceTokens, Long numActivations) {
    check(
        (numSequenceTokens == null) == (numActivations == null),
        "Give both numSequenceTokens and numActivations, or neither");
    if (numSequenceTokens == null) {
      long[] r = unflattenAssumingSquare(flatIndex);
      return new int[] {(int) r[0], (int) r[1]};
    }
    return unflatten(flatIndex, (int) numSequenceTokens, (long) numActivations);
  }

  /** The inverse of {@link #unflatten(int)}: {@code from(from+1)/2 + to}. */
  public static long flatten(int from, int to) {
    check(to >= 0 && to <= from, "need 0 <= to <= from, got from=" + from + " to=" + to);
    return (long) from * (from + 1) / 2 + to;
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
