package io.github.neuronexplainer.explanations.client;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;

/** A non-blocking semaphore: {@link #acquire()} completes when a permit is free. Thread-safe. */
final class AsyncLimiter {
  private final Deque<CompletableFuture<Void>> waiting = new ArrayDeque<>();
  private int available;

  AsyncLimiter(int permits) {
    if (permits < 1) {
      throw new IllegalArgumentException("maxConcurrent must be >= 1, got " + permits);
    }
    this.available = permits;
  }

  CompletableFuture<Void> acquire() {
    synchronized (this) {
      if (available > 0) {
        available--;
        return CompletableFuture.completedFuture(null);
      }
      CompletableFuture<Void> f = new CompletableFuture<>();
      waiting.add(f);
      return f;
    }
  }

  void release() {
    CompletableFuture<Void> next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        available++;
        return;
      }
    }
    next.complete(null);
  }
}
