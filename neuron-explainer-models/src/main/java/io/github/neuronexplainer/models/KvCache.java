package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Keys, values and pad flags of the tokens seen so far, per layer, plus each sequence's length:
 * what incremental decoding needs (the original's {@code HiddenState} + {@code KeyValueCache}).
 * Owns its tensors in a manager of its own; close it when done.
 *
 * <p>Keys and values live in buffers of {@code capacity} positions allocated on the first step;
 * each step writes its new positions in place and attention reads a view of the filled prefix, so a
 * step copies only its own keys and values, never the cache (a buffer that fills up is grown by
 * doubling). Decoding runs without autograd, so the in-place writes record no history.
 *
 * <p>Not thread-safe.
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys; // [b, capacity, d] per layer
  private final NDArray[] values;
  private final long[] filled; // positions written per layer
  private long capacity;
  private NDArray pad; // [b, s_total] bool
  private long[] lengths; // per sequence: number of non-pad tokens so far

  /**
   * @param capacity positions to allocate room for (prompt + tokens to sample), at least 1
   */
  KvCache(NDManager parent, int nLayers, long capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException(
          "A KV cache needs room for at least 1 position, got " + capacity);
    }
    this.manager = parent.newSubManager();
    this.keys = new NDArray[nLayers];
    this.values = new NDArray[nLayers];
    this.filled = new long[nLayers];
    this.capacity = capacity;
  }

  /** Tokens seen so far per sequence (excluding pads). */
  public long[] lengths() {
    return lengths == null ? null : lengths.clone();
  }

  /** Total cached positions (including pads). */
  public long cachedPositions() {
    return pad == null ? 0 : pad.getShape().get(1);
  }

  long[] rawLengths() {
    return lengths;
  }

  void setLengths(long[] lengths) {
    this.lengths = lengths;
  }

  /** Appends the new positions' pad flags; returns the pad flags of all positions. */
  NDArray appendPad(NDArray newPad) {
    NDArray all = pad == null ? newPad.duplicate() : pad.concat(newPad, 1);
    all.attach(manager);
    // the caller's copy must not be the cached one, which is replaced on the next step
    if (pad != null) {
      pad.close();
    }
    pad = all;
    return pad;
  }

  /**
   * Writes a layer's new keys/values {@code [b, s_new, d]} after the cached ones; returns views
   * {@code [b, s_total, d]} of all keys and values, owned by the new arrays' manager. Valid until
   * the next call for this layer.
   */
  NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
    long start = filled[layer];
    long end = start + newKeys.getShape().get(1);
    if (keys[layer] == null || end > keys[layer].getShape().get(1)) {
      capacity = Math.max(end, keys[layer] == null ? capacity : 2 * capacity);
      keys[layer] = grow(keys[layer], newKeys, start);
      values[layer] = grow(values[layer], newValues, start);
    }
    NDIndex written = new NDIndex(":, {}:{}, :", start, end);
    keys[layer].set(written, newKeys);
    values[layer].set(written, newValues);
    filled[layer] = end;
    NDIndex prefix = new NDIndex(":, :{}, :", end);
    NDManager owner = newKeys.getManager();
    return new NDArray[] {keys[layer].get(owner, prefix), values[layer].get(owner, prefix)};
  }

  /**
   * A buffer of {@link #capacity} positions shaped like {@code like}, holding the old one's prefix.
   */
  private NDArray grow(NDArray old, NDArray like, long used) {
    Shape s = like.getShape();
    NDArray buffer = manager.zeros(new Shape(s.get(0), capacity, s.get(2)), like.getDataType());
    NDScope.unregister(buffer); // the cache owns it, not the layer's scope it is first made in
    if (old != null) {
      NDIndex prefix = new NDIndex(":, :{}, :", used);
      NDArray kept = old.get(prefix);
      buffer.set(prefix, kept);
      kept.close();
      old.close();
    }
    return buffer;
  }

  @Override
  public void close() {
    manager.close();
  }
}
