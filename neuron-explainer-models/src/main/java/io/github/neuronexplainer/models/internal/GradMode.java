package io.github.neuronexplainer.models.internal;

import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * Switches libtorch's autograd recording for a block of code on the calling thread. Not API: it
 * exists for this library's own packages (training, tests) and may change or go away without
 * notice; user code gets the right mode from the model's public methods.
 *
 * <p>Thread-safe: libtorch's grad mode is per thread, and so is the switch.
 */
public final class GradMode {
  private GradMode() {}

  /**
   * Runs {@code body} with autograd recording set to {@code enabled} on this thread, restoring the
   * previous mode afterwards.
   */
  public static <T> T with(boolean enabled, Supplier<T> body) {
    boolean previous = JniUtils.isGradMode();
    JniUtils.setGradMode(enabled);
    try {
      return body.get();
    } finally {
      JniUtils.setGradMode(previous);
    }
  }
}
