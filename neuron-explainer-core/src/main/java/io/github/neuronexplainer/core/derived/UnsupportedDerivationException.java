package io.github.neuronexplainer.core.derived;

/**
 * Thrown when a DST cannot be computed with the given configuration or pass type, for the same
 * reasons the original refuses it (a missing autoencoder, trace config or backward pass, or a pass
 * type the DST does not define). The message says what is missing and how to fix it.
 */
public class UnsupportedDerivationException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  public UnsupportedDerivationException(String message) {
    super(message);
  }
}
