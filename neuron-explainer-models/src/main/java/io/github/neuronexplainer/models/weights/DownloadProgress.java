package io.github.neuronexplainer.models.weights;

/**
 * Receives progress while a {@link WeightSource} fetches a file. Called on the fetching thread,
 * throttled (at most every 256 KiB or 100 ms) plus once at the end with the final count.
 *
 * <p>Thread-safety: when several files are fetched in parallel the same instance is called from
 * several threads; implementations must tolerate that.
 */
@FunctionalInterface
public interface DownloadProgress {
  /**
   * @param bytesDone bytes received so far
   * @param bytesTotal total bytes if the server announced them, else -1
   */
  void update(long bytesDone, long bytesTotal);

  /** Ignores all updates. */
  static DownloadProgress none() {
    return (done, total) -> {};
  }
}
