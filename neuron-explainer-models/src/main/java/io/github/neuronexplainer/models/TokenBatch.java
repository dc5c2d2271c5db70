package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.StringJoiner;

/**
 * Prompts padded to a rectangle: tokens {@code [b, s]} with pads filled by token 0, pad flags, and
 * each prompt's last real position (the original's {@code prep_input_and_pad}).
 *
 * <p>Immutable and thread-safe: arrays are copied in and out. Equality compares the arrays by
 * content; {@link #toString()} prints one token list per prompt, pads as {@code _}.
 */
public record TokenBatch(
    long[] tokens, boolean[] pad, int batchSize, int length, long[] lastPositions) {

  public TokenBatch {
    if (tokens.length != (long) batchSize * length
        || pad.length != tokens.length
        || lastPositions.length != batchSize) {
      throw new IllegalArgumentException(
          "A TokenBatch of "
              + batchSize
              + " x "
              + length
              + " needs "
              + batchSize * length
              + " tokens and pad flags and "
              + batchSize
              + " last positions, got "
              + tokens.length
              + ", "
              + pad.length
              + " and "
              + lastPositions.length
              + "; use TokenBatch.of(prompts, side)");
    }
    tokens = tokens.clone();
    pad = pad.clone();
    lastPositions = lastPositions.clone();
  }

  /**
   * Pads {@code prompts}.
   *
   * @throws IllegalArgumentException for no prompts or an empty prompt
   */
  public static TokenBatch of(List<int[]> prompts, PadSide side) {
    if (prompts == null || prompts.isEmpty()) {
      throw new IllegalArgumentException("Give at least one prompt");
    }
    int length = 0;
    for (int i = 0; i < prompts.size(); i++) {
      if (prompts.get(i) == null || prompts.get(i).length == 0) {
        throw new IllegalArgumentException("Prompt " + i + " is empty; every prompt needs a token");
      }
      length = Math.max(length, prompts.get(i).length);
    }
    int b = prompts.size();
    long[] tokens = new long[b * length];
    boolean[] pad = new boolean[b * length];
    long[] last = new long[b];
    for (int i = 0; i < b; i++) {
      int[] p = prompts.get(i);
      int offset = side == PadSide.LEFT ? length - p.length : 0;
      for (int j = 0; j < length; j++) {
        int k = j - offset;
        boolean isPad = k < 0 || k >= p.length;
        pad[i * length + j] = isPad;
        tokens[i * length + j] = isPad ? 0 : p[k];
      }
      last[i] = offset + p.length - 1;
    }
    return new TokenBatch(tokens, pad, b, length, last);
  }

  /** A copy of the tokens, row-major {@code [b, s]}. */
  @Override
  public long[] tokens() {
    return tokens.clone();
  }

  /** A copy of the pad flags, row-major {@code [b, s]}. */
  @Override
  public boolean[] pad() {
    return pad.clone();
  }

  /** A copy of each prompt's last real position. */
  @Override
  public long[] lastPositions() {
    return lastPositions.clone();
  }

  public NDArray tokensArray(NDManager manager) {
    return manager.create(tokens, new Shape(batchSize, length));
  }

  /** The pad flags, or null when nothing is padded (as the original passes no pad then). */
  public NDArray padArray(NDManager manager) {
    for (boolean p : pad) {
      if (p) {
        return manager.create(pad, new Shape(batchSize, length));
      }
    }
    return null;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenBatch other
        && batchSize == other.batchSize
        && length == other.length
        && Arrays.equals(tokens, other.tokens)
        && Arrays.equals(pad, other.pad)
        && Arrays.equals(lastPositions, other.lastPositions);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * Arrays.hashCode(tokens) + Arrays.hashCode(pad))
        + Arrays.hashCode(lastPositions);
  }

  /** {@code TokenBatch[2 x 3, tokens=[[_, 464, 3139], [286, 4881, 318]], lastPositions=[2, 2]]}. */
  @Override
  public String toString() {
    StringJoiner rows = new StringJoiner(", ", "[", "]");
    for (int i = 0; i < batchSize; i++) {
      StringJoiner row = new StringJoiner(", ", "[", "]");
      for (int j = 0; j < length; j++) {
        int k = i * length + j;
        row.add(pad[k] ? "_" : Long.toString(tokens[k]));
      }
      rows.add(row.toString());
    }
    return "TokenBatch["
        + batchSize
        + " x "
        + length
        + ", tokens="
        + rows
        + ", lastPositions="
        + Arrays.toString(lastPositions)
        + "]";
  }
}
