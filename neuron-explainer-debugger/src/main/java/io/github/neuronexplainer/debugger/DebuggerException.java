package io.github.neuronexplainer.debugger;

/**
 * A request the debugger cannot answer. {@link #kind()} says why, and which HTTP status the
 * original's server answers the same request with ({@link Kind#originalHttpStatus()}); the message
 * says what was wrong and how to fix it.
 *
 * <p>Immutable.
 */
public final class DebuggerException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why a request was refused. */
  public enum Kind {
    /** The JSON does not parse into the request type (the original's 422 validation error). */
    MALFORMED_REQUEST(422),
    /**
     * The request is well-formed but cannot be run: a token string that is not one token, top-k
     * prompts of different lengths or over 500 tokens (the original's 400).
     */
    INVALID_REQUEST(400),
    /** A layer, token, neuron, head or latent index outside the model (the original's 500). */
    INDEX_OUT_OF_RANGE(500),
    /**
     * The request asks for something the original does not compute: a DST a spec does not support,
     * a spec depending on a missing one, a missing autoencoder (the original's 500).
     */
    UNSUPPORTED(500);

    private final int originalHttpStatus;

    Kind(int originalHttpStatus) {
      this.originalHttpStatus = originalHttpStatus;
    }

    /** The status the original's server answers with. */
    public int originalHttpStatus() {
      return originalHttpStatus;
    }
  }

  private final Kind kind;

  public DebuggerException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public DebuggerException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
