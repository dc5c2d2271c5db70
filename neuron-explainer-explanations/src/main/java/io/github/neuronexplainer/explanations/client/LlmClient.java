package io.github.neuronexplainer.explanations.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Sends completion requests and returns the parsed JSON response. A failed request completes the
 * future exceptionally with an {@link ApiException}; it never yields a made-up response.
 * Implementations must be thread-safe.
 */
public interface LlmClient {
  /**
   * Sends the request (after retries, caching and concurrency limiting, as the implementation
   * does).
   */
  CompletableFuture<JsonNode> generate(ApiRequest request);

  /** Blocking convenience for scripts and JShell. */
  default JsonNode generateBlocking(ApiRequest request) {
    return await(generate(request));
  }

  /** Waits for a future and rethrows its cause unwrapped (unchecked). */
  static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiException("Interrupted while waiting for the API", e, false, -1);
    } catch (ExecutionException e) {
      throw unwrap(e.getCause());
    }
  }

  /**
   * The first cause that is not a {@link CompletionException} or {@link ExecutionException}, as
   * unchecked.
   */
  static RuntimeException unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error err) {
      throw err;
    }
    return new CompletionException(t);
  }
}
