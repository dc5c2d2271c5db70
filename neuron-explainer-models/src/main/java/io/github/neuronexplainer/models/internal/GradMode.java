package io.github.neuronexplainer.models.internal;

import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * Switches libtorch's autograd recording for the current thread. Not API: the models module's own
 * training and test code uses it where no public method fits; it may change without notice.
 *
 * <p>Thread-safe: the mode is per thread.
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
