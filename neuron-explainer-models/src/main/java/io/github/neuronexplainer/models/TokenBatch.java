package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Prompts padded to a rectangle: tokens {@code [b, s]} with pads filled by token 0, pad flags, and
 * each prompt's last real position (the original's {@code prep_input_and_pad}). Immutable.
 */
public record TokenBatch(long[] tokens, boolean[] pad, int batchSize, int length, long[] lastPositions) {

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
}
