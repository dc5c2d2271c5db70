package io.github.neuronexplainer.models.weights;

import io.github.neuronexplainer.core.io.SafePaths;
import java.nio.file.Path;

/**
 * Where weight files come from: a local folder or an HTTP server with a disk cache. Paths are
 * relative and use {@code /}, e.g. {@code "config.json"} or {@code
 * "model_pieces/tok_embed.weight.pt"}; absolute paths and {@code ..} are rejected.
 *
 * <p>Thread-safety: implementations in this package are safe for concurrent use.
 */
public interface WeightSource {
  /**
   * Makes the file available on local disk and returns its path.
   *
   * @throws WeightFetchException if the file does not exist or cannot be fetched completely
   * @throws IllegalArgumentException if {@code relativePath} is absolute or escapes the source
   */
  Path fetch(String relativePath, DownloadProgress progress);

  /** Whether the file exists (for HTTP: is cached, or the server answers 200 to HEAD). */
  boolean exists(String relativePath);

  /** Like {@link #fetch(String, DownloadProgress)} without progress reports. */
  default Path fetch(String relativePath) {
    return fetch(relativePath, DownloadProgress.none());
  }

  /** A human-readable location of {@code relativePath} for messages (a path or URL). */
  String describe(String relativePath);

  /** Validates a relative path and returns its segments. */
  static String[] checkRelativePath(String relativePath) {
    return SafePaths.checkRelative(relativePath, "weight path");
  }
}
