package io.github.neuronexplainer.models.weights;

/**
 * A weights file could not be fetched: missing locally, HTTP error status, connection dropped, or a
 * body shorter than announced. The message names the file or URL (never credentials or query
 * strings). No partial file is left under the final cache name when this is thrown.
 *
 * <p>Thread-safety: immutable, safe to share.
 */
public class WeightFetchException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public WeightFetchException(String message) {
    super(message);
  }

  public WeightFetchException(String message, Throwable cause) {
    super(message, cause);
  }
}
