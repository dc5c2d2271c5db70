package io.github.neuronexplainer.explanations.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The original's exponential backoff: after a retryable failure wait {@code uniform(d·(1−j),
 * d·(1+j))}, then {@code d = min(d·multiplier, max)}; give up after {@code maxAttempts} attempts. A
 * server's {@code Retry-After} is honoured when longer (capped at {@code maxRetryAfter}).
 * Immutable.
 *
 * @param initialDelay first delay (original: 1 s)
 * @param maxDelay delay cap (original: 10 s)
 * @param multiplier growth factor (original: 2)
 * @param jitter relative jitter (original: 0.2)
 * @param maxAttempts attempts in total, the first included (original: 200)
 * @param maxRetryAfter longest {@code Retry-After} honoured
 */
public record RetryPolicy(
    Duration initialDelay,
    Duration maxDelay,
    double multiplier,
    double jitter,
    int maxAttempts,
    Duration maxRetryAfter) {
  /** The original's policy (1 s × 2 up to 10 s, ±20 %, 200 attempts). */
  public static final RetryPolicy ORIGINAL =
      new RetryPolicy(
          Duration.ofSeconds(1), Duration.ofSeconds(10), 2.0, 0.2, 200, Duration.ofSeconds(60));

  public RetryPolicy {
    if (maxAttempts < 1 || multiplier < 1 || jitter < 0 || jitter >= 1) {
      throw new IllegalArgumentException(
          "Need maxAttempts >= 1, multiplier >= 1 and 0 <= jitter < 1");
    }
  }

  /** The same policy with another attempt limit. */
  public RetryPolicy withMaxAttempts(int attempts) {
    return new RetryPolicy(initialDelay, maxDelay, multiplier, jitter, attempts, maxRetryAfter);
  }

  /** Delays scaled for tests: same shape, initial and max delay as given. */
  public RetryPolicy withDelays(Duration initial, Duration max) {
    return new RetryPolicy(initial, max, multiplier, jitter, maxAttempts, maxRetryAfter);
  }

  /** The un-jittered delay before retry number {@code retry} (1-based). */
  double baseDelaySeconds(int retry) {
    double d = initialDelay.toNanos() / 1e9;
    double max = maxDelay.toNanos() / 1e9;
    for (int i = 1; i < retry; i++) {
      d = Math.min(d * multiplier, max);
    }
    return Math.min(d, max);
  }

  /**
   * The jittered delay before retry number {@code retry}, at least {@code retryAfter} when given.
   */
  Duration delay(int retry, Duration retryAfter) {
    double base = baseDelaySeconds(retry);
    double seconds =
        base * (1 - jitter) + ThreadLocalRandom.current().nextDouble() * base * 2 * jitter;
    Duration computed = Duration.ofNanos((long) (seconds * 1e9));
    if (retryAfter != null) {
      Duration capped = retryAfter.compareTo(maxRetryAfter) > 0 ? maxRetryAfter : retryAfter;
      return capped.compareTo(computed) > 0 ? capped : computed;
    }
    return computed;
  }
}
