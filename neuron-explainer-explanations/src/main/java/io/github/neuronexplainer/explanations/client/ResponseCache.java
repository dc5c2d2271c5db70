package io.github.neuronexplainer.explanations.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.common.hash.Hashing;
import io.github.neuronexplainer.core.io.SafePaths;
import io.github.neuronexplainer.explanations.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Successful responses keyed by the request body (compact JSON in key order, without {@code model},
 * like the original) plus the model and base URL: in memory, and optionally as one JSON file per
 * response on disk so a rerun costs nothing. Thread-safe.
 */
public final class ResponseCache {
  private static final Logger LOG = LoggerFactory.getLogger(ResponseCache.class);
  private final Map<String, JsonNode> memory = new ConcurrentHashMap<>();
  private final Path directory;

  /**
   * @param directory where responses are persisted, or {@code null} for memory only
   */
  public ResponseCache(Path directory) {
    this.directory = directory;
    if (directory != null) {
      try {
        Files.createDirectories(directory);
      } catch (IOException e) {
        throw new UncheckedIOException(
            "Cannot create the response cache directory " + directory, e);
      }
    }
  }

  static String key(String scope, String body) {
    return Hashing.sha256().hashString(scope + "\n" + body, StandardCharsets.UTF_8).toString();
  }

  Optional<JsonNode> get(String key) {
    JsonNode hit = memory.get(key);
    if (hit != null || directory == null) {
      return Optional.ofNullable(hit);
    }
    Path file = SafePaths.resolveInside(directory, key + ".json", "response cache key");
    if (!Files.isRegularFile(file)) {
      return Optional.empty();
    }
    try {
      JsonNode node = Json.MAPPER.readTree(Files.readString(file));
      memory.put(key, node);
      return Optional.of(node);
    } catch (IOException e) {
      LOG.warn("Ignoring unreadable cache file {}: {}", file, e.getMessage());
      return Optional.empty();
    }
  }

  void put(String key, JsonNode response) {
    memory.put(key, response);
    if (directory == null) {
      return;
    }
    Path file = SafePaths.resolveInside(directory, key + ".json", "response cache key");
    try {
      Path tmp = Files.createTempFile(directory, key, ".tmp");
      Files.writeString(tmp, Json.write(response));
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      LOG.warn("Could not persist a cached response to {}: {}", file, e.getMessage());
    }
  }

  /** Number of responses held in memory. */
  public int size() {
    return memory.size();
  }
}
