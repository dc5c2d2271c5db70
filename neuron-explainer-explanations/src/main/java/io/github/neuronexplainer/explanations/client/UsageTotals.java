package io.github.neuronexplainer.explanations.client;

/**
 * A snapshot of a client's counters. Immutable.
 *
 * @param requests HTTP attempts made
 * @param succeeded calls that returned a response from the server
 * @param failed calls that ended in an exception
 * @param retries attempts that were retries
 * @param cacheHits calls answered from the cache (no HTTP)
 * @param promptTokens sum of {@code usage.prompt_tokens}
 * @param completionTokens sum of {@code usage.completion_tokens}
 * @param totalTokens sum of {@code usage.total_tokens}
 */
public record UsageTotals(
    long requests,
    long succeeded,
    long failed,
    long retries,
    long cacheHits,
    long promptTokens,
    long completionTokens,
    long totalTokens) {
  /** Counters accumulated since {@code before}. */
  public UsageTotals minus(UsageTotals before) {
    return new UsageTotals(
        requests - before.requests,
        succeeded - before.succeeded,
        failed - before.failed,
        retries - before.retries,
        cacheHits - before.cacheHits,
        promptTokens - before.promptTokens,
        completionTokens - before.completionTokens,
        totalTokens - before.totalTokens);
  }
}
