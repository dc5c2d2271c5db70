package io.github.neuronexplainer.explanations.client;

/**
 * A failed API call: an HTTP error status, a transport failure, a timeout or an unusable response.
 * Messages never contain the API key.
 */
public class ApiException extends RuntimeException {
  private final boolean retryable;
  private final int statusCode;

  public ApiException(String message, Throwable cause, boolean retryable, int statusCode) {
    super(message, cause);
    this.retryable = retryable;
    this.statusCode = statusCode;
  }

  public ApiException(String message, boolean retryable, int statusCode) {
    this(message, null, retryable, statusCode);
  }

  /** Whether the original's retry policy retries this error. */
  public boolean isRetryable() {
    return retryable;
  }

  /** The HTTP status, or -1 when there was no HTTP response. */
  public int statusCode() {
    return statusCode;
  }
}
