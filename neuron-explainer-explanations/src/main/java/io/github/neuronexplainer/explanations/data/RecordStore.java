package io.github.neuronexplainer.explanations.data;

import io.github.neuronexplainer.core.io.SafePaths;
import io.github.neuronexplainer.core.records.AttentionSimulationResults;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.NeuronSimulationResults;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Loads neuron / latent / attention-head records and explanations from a local folder or a URL
 * layout. Remote files are copied into a disk cache ({@code <cacheDir>/<host>/<path>}) on first
 * read, so later reads work offline. A missing file (local or HTTP 404) is {@link
 * Optional#empty()}; other HTTP errors throw. Thread-safe.
 */
public final class RecordStore {
  private final Path cacheDirectory;
  private final HttpClient http;

  /**
   * @param cacheDirectory where remote files are cached; {@code null} disables caching
   */
  public RecordStore(Path cacheDirectory) {
    this.cacheDirectory = cacheDirectory;
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(20))
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
  }

  /** The {@code NeuronRecord} at {@code location} for (layer, index), if present. */
  public Optional<NeuronRecord> loadNeuronRecord(DatasetLocation location, int layer, int index) {
    return read(location.resolve(layer, index))
        .map(text -> FastDataclassJson.loads(text, NeuronRecord.class));
  }

  /** The neuron's explanations file (exactly one non-empty JSON line), if present. */
  public Optional<NeuronSimulationResults> loadNeuronExplanations(
      DatasetLocation location, int layer, int index) {
    return read(location.resolve(layer, index))
        .map(text -> FastDataclassJson.loads(singleLine(text), NeuronSimulationResults.class));
  }

  /** An attention head's explanations file, if present. */
  public Optional<AttentionSimulationResults> loadAttentionExplanations(
      DatasetLocation location, int layer, int index) {
    return read(location.resolve(layer, index))
        .map(text -> FastDataclassJson.loads(singleLine(text), AttentionSimulationResults.class));
  }

  private static String singleLine(String text) {
    List<String> lines = Arrays.stream(text.split("\n")).filter(l -> !l.isEmpty()).toList();
    if (lines.size() != 1) {
      throw new IllegalArgumentException(
          "An explanations file must hold exactly one non-empty line, found " + lines.size());
    }
    return lines.get(0);
  }

  /** The text at a path or URL, through the disk cache for URLs; empty when it does not exist. */
  public Optional<String> read(String pathOrUrl) {
    try {
      if (!(pathOrUrl.startsWith("https://") || pathOrUrl.startsWith("http://"))) {
        Path p = Path.of(pathOrUrl);
        return Files.isRegularFile(p)
            ? Optional.of(Files.readString(p, StandardCharsets.UTF_8))
            : Optional.empty();
      }
      URI uri = URI.create(pathOrUrl);
      Path cached = cacheDirectory == null ? null : cachePathOf(uri);
      if (cached != null && Files.isRegularFile(cached)) {
        return Optional.of(Files.readString(cached, StandardCharsets.UTF_8));
      }
      HttpResponse<byte[]> response =
          http.send(
              HttpRequest.newBuilder(uri).GET().timeout(Duration.ofMinutes(2)).build(),
              HttpResponse.BodyHandlers.ofByteArray());
      if (response.statusCode() == 404) {
        return Optional.empty();
      }
      if (response.statusCode() / 100 != 2) {
        throw new UncheckedIOException(
            new IOException("HTTP " + response.statusCode() + " reading " + pathOrUrl));
      }
      if (cached != null) {
        Files.createDirectories(cached.getParent());
        Path tmp = Files.createTempFile(cached.getParent(), "download", ".tmp");
        Files.write(tmp, response.body());
        Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING);
      }
      return Optional.of(new String(response.body(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + pathOrUrl, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while reading " + pathOrUrl, e);
    }
  }

  /**
   * Where the body of {@code uri} is cached: {@code cacheDirectory/host/path}, never outside it.
   */
  Path cachePathOf(URI uri) {
    if (uri.getHost() == null || uri.getRawPath() == null || uri.getRawPath().length() < 2) {
      throw new IllegalArgumentException(
          "Cannot cache " + uri + ": it needs a host and a file path");
    }
    return SafePaths.resolveInside(
        cacheDirectory, uri.getHost() + uri.getRawPath(), "record URL path");
  }
}
