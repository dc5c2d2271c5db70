package io.github.neuronexplainer.models.weights;

import io.github.neuronexplainer.core.io.SafePaths;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Weight files below an HTTP(S) base URL, downloaded once into a disk cache at {@code
 * <cacheDir>/<host>[_<port>]/<url path>}.
 *
 * <p>A file is downloaded to a temporary file in the target folder and renamed into place only
 * after the whole body arrived (checked against {@code Content-Length} when sent), so the cache
 * never holds a partial file under its final name. A cached file is reused without any network
 * access. Redirects are followed (the HuggingFace hub redirects to its CDN), except from HTTPS to
 * HTTP.
 *
 * <p>Thread-safety: safe for concurrent use; concurrent fetches of the same file each download to
 * their own temporary file and the last rename wins with identical content.
 */
public final class HttpSource implements WeightSource {
  private static final Logger LOG = LoggerFactory.getLogger(HttpSource.class);
  private static final long PROGRESS_BYTES = 256 * 1024;
  private static final long PROGRESS_NANOS = 100_000_000L;

  // One client for all sources: each HttpClient owns a selector thread and Java 17 cannot close it.
  private static final HttpClient CLIENT =
      HttpClient.newBuilder()
          .followRedirects(HttpClient.Redirect.NORMAL)
          .connectTimeout(Duration.ofSeconds(30))
          .build();

  private final URI baseUrl;
  private final Path cacheRoot;

  /**
   * @param baseUrl http or https URL of the folder holding the files (a trailing {@code /} is added
   *     if missing); must not contain credentials or a query
   * @param cacheDir cache folder, e.g. {@link WeightCache#defaultDir()}
   */
  public HttpSource(URI baseUrl, Path cacheDir) {
    Objects.requireNonNull(baseUrl, "baseUrl");
    Objects.requireNonNull(cacheDir, "cacheDir");
    String scheme = baseUrl.getScheme();
    if (scheme == null
        || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
        || baseUrl.getHost() == null) {
      throw new IllegalArgumentException("base URL must be http(s)://host/..., got " + baseUrl);
    }
    if (baseUrl.getRawUserInfo() != null
        || baseUrl.getRawQuery() != null
        || baseUrl.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "base URL may not contain credentials, a query or a fragment: " + redact(baseUrl));
    }
    String path =
        baseUrl.getRawPath() == null || baseUrl.getRawPath().isEmpty() ? "/" : baseUrl.getRawPath();
    this.baseUrl = baseUrl.resolve(path.endsWith("/") ? path : path + "/");
    this.cacheRoot = cacheDir.toAbsolutePath().normalize().resolve(cacheFolderName(this.baseUrl));
  }

  public URI baseUrl() {
    return baseUrl;
  }

  /** The URL of {@code relativePath}. */
  public URI urlOf(String relativePath) {
    String encoded =
        Arrays.stream(WeightSource.checkRelativePath(relativePath))
            .map(segment -> URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20"))
            .collect(Collectors.joining("/"));
    return baseUrl.resolve(encoded);
  }

  /** Where {@code relativePath} is (or will be) cached. */
  public Path cachePathOf(String relativePath) {
    return SafePaths.resolveInside(cacheRoot, relativePath, "weight path");
  }

  /** Whether {@code relativePath} is already in the cache (no network access). */
  public boolean isCached(String relativePath) {
    return Files.isRegularFile(cachePathOf(relativePath));
  }

  @Override
  public Path fetch(String relativePath, DownloadProgress progress) {
    URI url = urlOf(relativePath);
    Path target = cachePathOf(relativePath);
    if (Files.isRegularFile(target)) {
      LOG.debug("using cached {} for {}", target, redact(url));
      return target;
    }
    LOG.info("downloading {} to {}", redact(url), target);
    Path temp;
    try {
      temp = AtomicFiles.newTempFileFor(target);
    } catch (IOException e) {
      throw new WeightFetchException(
          "cannot create cache file for "
              + redact(url)
              + " in "
              + target.getParent()
              + ": "
              + e.getMessage(),
          e);
    }
    boolean moved = false;
    try {
      download(url, temp, progress);
      AtomicFiles.moveIntoPlace(temp, target);
      moved = true;
      return target;
    } catch (IOException e) {
      throw new WeightFetchException("download of " + redact(url) + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WeightFetchException("download of " + redact(url) + " was interrupted", e);
    } finally {
      if (!moved) {
        AtomicFiles.deleteQuietly(temp);
      }
    }
  }

  private void download(URI url, Path temp, DownloadProgress progress)
      throws IOException, InterruptedException {
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(Duration.ofSeconds(60))
            .header("User-Agent", "neuron-explainer-java")
            .GET()
            .build();
    HttpResponse<InputStream> response =
        CLIENT.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = response.body()) {
      if (response.statusCode() != 200) {
        String redirected =
            response.uri().equals(url) ? "" : " (redirected to " + redact(response.uri()) + ")";
        throw new WeightFetchException(
            "HTTP "
                + response.statusCode()
                + " for "
                + redact(url)
                + redirected
                + (response.statusCode() == 404
                    ? ": file not found; check the model name or base URL"
                    : ""));
      }
      long total = response.headers().firstValueAsLong("Content-Length").orElse(-1);
      long done = 0;
      long lastReportedBytes = 0;
      long lastReportNanos = System.nanoTime();
      byte[] buffer = new byte[1 << 16];
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE);
          OutputStream out = Channels.newOutputStream(channel)) {
        int read;
        while ((read = body.read(buffer)) >= 0) {
          out.write(buffer, 0, read);
          done += read;
          if (total >= 0 && done > total) {
            throw new WeightFetchException(
                "server sent more than the announced " + total + " bytes for " + redact(url));
          }
          long now = System.nanoTime();
          if (done - lastReportedBytes >= PROGRESS_BYTES
              || now - lastReportNanos >= PROGRESS_NANOS) {
            progress.update(done, total);
            lastReportedBytes = done;
            lastReportNanos = now;
          }
        }
        channel.force(true); // the rename must never expose data still in the page cache
      }
      if (total >= 0 && done != total) {
        throw new WeightFetchException(
            "download of "
                + redact(url)
                + " ended after "
                + done
                + " of "
                + total
                + " bytes; the connection was cut, try again");
      }
      progress.update(done, total);
    }
  }

  @Override
  public boolean exists(String relativePath) {
    if (isCached(relativePath)) {
      return true;
    }
    URI url = urlOf(relativePath);
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(Duration.ofSeconds(60))
            .header("User-Agent", "neuron-explainer-java")
            .method("HEAD", HttpRequest.BodyPublishers.noBody())
            .build();
    try {
      int status = CLIENT.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
      if (status == 200) {
        return true;
      }
      if (status == 404) {
        return false;
      }
      throw new WeightFetchException("HTTP " + status + " for HEAD " + redact(url));
    } catch (IOException e) {
      throw new WeightFetchException("HEAD " + redact(url) + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WeightFetchException("HEAD " + redact(url) + " was interrupted", e);
    }
  }

  @Override
  public String describe(String relativePath) {
    return redact(urlOf(relativePath)).toString();
  }

  private static String cacheFolderName(URI base) {
    String host = base.getHost().toLowerCase(java.util.Locale.ROOT);
    StringBuilder folder =
        new StringBuilder(base.getPort() >= 0 ? host + "_" + base.getPort() : host);
    for (String segment : base.getRawPath().split("/")) {
      if (segment.isEmpty()) {
        continue;
      }
      String decoded = URLDecoder.decode(segment, StandardCharsets.UTF_8);
      if (decoded.equals(".")
          || decoded.equals("..")
          || decoded.contains("/")
          || decoded.contains("\\")
          || decoded.contains("\0")) {
        throw new IllegalArgumentException(
            "base URL path segment '" + segment + "' cannot be used as a cache folder name");
      }
      folder.append('/').append(decoded);
    }
    return folder.toString();
  }

  /** The URL without credentials, query or fragment, safe to log. */
  static URI redact(URI url) {
    try {
      return new URI(
          url.getScheme(), null, url.getHost(), url.getPort(), url.getPath(), null, null);
    } catch (java.net.URISyntaxException e) {
      return URI.create(url.getScheme() + "://" + url.getHost() + "/");
    }
  }

  @Override
  public String toString() {
    return "HttpSource[" + redact(baseUrl) + " -> " + cacheRoot + "]";
  }
}
