package io.github.neuronexplainer.models.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * What a hook knows about the call it is in. Valid only during that call.
 *
 * <p>Not thread-safe: a pass runs on one thread.
 */
public interface HookContext {
  /** The point being hooked. */
  HookPoint point();

  /** The layer, or {@link io.github.neuronexplainer.core.locations.LayerIndex#NONE}. */
  int layer();

  /**
   * The manager that owns this pass's intermediate tensors; it is closed when the pass ends, so a
   * hook that keeps a tensor must attach it (or a copy) to a manager of its own.
   */
  NDManager passManager();

  /**
   * Runs the hooks registered at {@code point} (at this hook's layer) on {@code x}: lets spliced
   * components such as autoencoders expose their own hookable points.
   */
  NDArray runPoint(HookPoint point, NDArray x);
}
