package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keys, values and pad flags of the tokens seen so far, per layer, plus each sequence's length:
 * what incremental decoding needs (the original's {@code HiddenState} + {@code KeyValueCache}). Owns
 * its tensors in a manager of its own; close it when done.
 *
 * <p>Not thread-safe.
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys;
  private final NDArray[] values;
  private NDArray pad; // [b, s_total] bool
  private long[] lengths; // per sequence: number of non-pad tokens so far

  KvCache(NDManager parent, int nLayers) {
    this.manager = parent.newSubManager();
    this.keys = new NDArray[nLayers];
    this.values = new NDArray[nLayers];
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
   * Appends a layer's new keys/values {@code [b, s_new, d]}; returns all keys and values for the
   * attention computation. The returned arrays keep the new part's autograd history and belong to
   * the new arrays' manager; the cache keeps detached copies of its own.
   */
  NDArray[] append(int layer, NDArray newKeys, NDArray newValues) {
    NDArray[] forPass = {withCached(keys[layer], newKeys), withCached(values[layer], newValues)};
    keys[layer] = store(keys[layer], forPass[0]);
    values[layer] = store(values[layer], forPass[1]);
    return forPass;
  }

  private static NDArray withCached(NDArray cached, NDArray fresh) {
    if (cached == null) {
      return fresh;
    }
    NDArray all = cached.concat(fresh, 1);
    all.attach(fresh.getManager());
    return all;
  }

  private NDArray store(NDArray old, NDArray all) {
    NDArray detached = all.stopGradient();
    detached.attach(manager);
    if (old != null) {
      old.close();
    }
    return detached;
  }

  @Override
  public void close() {
    manager.close();
  }
}
