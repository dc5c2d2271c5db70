package io.github.neuronexplainer.models.weights;

/**
 * A weights file (safetensors, torch {@code .pt}, checkpoint folder) is malformed, truncated, uses
 * an unsupported feature, or does not match the model it is loaded for. The message names the file,
 * the tensor (where there is one) and what was wrong.
 *
 * <p>Thread-safety: immutable, safe to share.
 */
public class WeightFormatException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public WeightFormatException(String message) {
    super(message);
  }

  public WeightFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
