package io.github.neuronexplainer.explanations.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.explanations.Json;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.reactor.IOReactorConfig;
import org.apache.hc.core5.util.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenAI-compatible HTTP client on httpclient5 async: {@code /completions} and {@code
 * /chat/completions} under a configurable base URL, the original's retry policy (plus {@code
 * Retry-After}), a concurrency limit on in-flight requests, per-attempt timeouts, an optional
 * response cache (memory and disk) and token-usage totals. A call that fails completes its future
 * with an {@link ApiException}. The API key is never logged and is removed from exception messages.
 * Thread-safe; close it to release its threads and connections.
 */
public final class OpenAiClient implements LlmClient, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(OpenAiClient.class);

  /** The original's base URL. */
  public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";

  private final String baseUrl;
  private final String apiKey;
  private final String model;
  private final Duration defaultTimeout;
  private final RetryPolicy retryPolicy;
  private final ResponseCache cache;
  private final AsyncLimiter limiter;
  private final CloseableHttpAsyncClient http;
  private final ScheduledExecutorService scheduler;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong succeeded = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong cacheHits = new AtomicLong();
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong completionTokens = new AtomicLong();
  private final AtomicLong totalTokens = new AtomicLong();

  private OpenAiClient(Builder b) {
    this.baseUrl =
        b.baseUrl.endsWith("/") ? b.baseUrl.substring(0, b.baseUrl.length() - 1) : b.baseUrl;
    this.apiKey = b.apiKey;
    this.model = Objects.requireNonNull(b.model, "model: call Builder.model(...)");
    this.defaultTimeout = b.defaultTimeout;
    this.retryPolicy = b.retryPolicy;
    this.cache = b.cache ? new ResponseCache(b.cacheDirectory) : null;
    this.limiter = new AsyncLimiter(b.maxConcurrent);
    this.http =
        HttpAsyncClients.custom()
            .setConnectionManager(
                PoolingAsyncClientConnectionManagerBuilder.create()
                    .setMaxConnTotal(b.maxConcurrent)
                    .setMaxConnPerRoute(b.maxConcurrent)
                    .setDefaultConnectionConfig(
                        ConnectionConfig.custom()
                            .setConnectTimeout(Timeout.of(b.connectTimeout))
                            .build())
                    .build())
            .setIOReactorConfig(IOReactorConfig.custom().setIoThreadCount(b.ioThreads).build())
            .disableAutomaticRetries()
            .build();
    this.http.start();
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "openai-client-scheduler");
              t.setDaemon(true);
              return t;
            });
  }

  /** A builder; base URL and key default to {@code OPENAI_BASE_URL} / {@code OPENAI_API_KEY}. */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder; not thread-safe. */
  public static final class Builder {
    private String baseUrl =
        Optional.ofNullable(System.getenv("OPENAI_BASE_URL"))
            .filter(s -> !s.isBlank())
            .orElse(DEFAULT_BASE_URL);
    private String apiKey = System.getenv("OPENAI_API_KEY");
    private String model;
    private int maxConcurrent = 10;
    private Duration defaultTimeout = Duration.ofMinutes(2);
    private Duration connectTimeout = Duration.ofSeconds(10);
    private RetryPolicy retryPolicy = RetryPolicy.ORIGINAL;
    private boolean cache;
    private Path cacheDirectory;
    private int ioThreads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    /** e.g. {@code https://api.openai.com/v1} or {@code http://127.0.0.1:8000/v1}. */
    public Builder baseUrl(String v) {
      baseUrl = Objects.requireNonNull(v);
      return this;
    }

    /** The bearer token; an empty key sends no Authorization header (local servers). */
    public Builder apiKey(String v) {
      apiKey = v;
      return this;
    }

    /** The model name, appended to every request body as its last key. */
    public Builder model(String v) {
      model = v;
      return this;
    }

    /** Bound on in-flight HTTP requests (original default 10). */
    public Builder maxConcurrent(int v) {
      maxConcurrent = v;
      return this;
    }

    /** Per-attempt timeout for requests that set none (the original waits forever). */
    public Builder defaultTimeout(Duration v) {
      defaultTimeout = Objects.requireNonNull(v);
      return this;
    }

    public Builder connectTimeout(Duration v) {
      connectTimeout = Objects.requireNonNull(v);
      return this;
    }

    public Builder retryPolicy(RetryPolicy v) {
      retryPolicy = Objects.requireNonNull(v);
      return this;
    }

    /** Cache successful responses in memory. */
    public Builder cache(boolean v) {
      cache = v;
      return this;
    }

    /** Cache successful responses in memory and in {@code dir}, so a rerun sends nothing. */
    public Builder cacheDirectory(Path dir) {
      cache = dir != null || cache;
      cacheDirectory = dir;
      return this;
    }

    public Builder ioThreads(int v) {
      ioThreads = v;
      return this;
    }

    public OpenAiClient build() {
      if (apiKey == null) {
        throw new IllegalStateException(
            "No API key: set OPENAI_API_KEY or call apiKey(...) "
                + "(an empty key sends no Authorization header)");
      }
      if (model == null || model.isBlank()) {
        throw new IllegalStateException("No model: call model(\"gpt-4o\") or similar");
      }
      URI.create(baseUrl);
      return new OpenAiClient(this);
    }
  }

  /** The configured model. */
  public String model() {
    return model;
  }

  /** Counters so far. */
  public UsageTotals usage() {
    return new UsageTotals(
        requests.get(),
        succeeded.get(),
        failed.get(),
        retries.get(),
        cacheHits.get(),
        promptTokens.get(),
        completionTokens.get(),
        totalTokens.get());
  }

  @Override
  public CompletableFuture<JsonNode> generate(ApiRequest request) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(new IllegalStateException("The client is closed"));
    }
    String cacheKey =
        cache == null ? null : ResponseCache.key(model + " " + baseUrl, Json.write(request.body()));
    if (cacheKey != null) {
      Optional<JsonNode> hit = cache.get(cacheKey);
      if (hit.isPresent()) {
        cacheHits.incrementAndGet();
        return CompletableFuture.completedFuture(hit.get().deepCopy());
      }
    }
    ObjectNode body = request.body().deepCopy();
    body.put("model", model);
    byte[] payload = toBytes(body);
    URI uri = URI.create(baseUrl + request.endpoint());
    Duration timeout = request.timeout() != null ? request.timeout() : defaultTimeout;
    CompletableFuture<JsonNode> result = new CompletableFuture<>();
    attempt(1, uri, payload, timeout, cacheKey, result);
    return result;
  }

  private static byte[] toBytes(JsonNode body) {
    try {
      return Json.MAPPER.writeValueAsBytes(body);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException("Cannot serialise the request body", e);
    }
  }

  private void attempt(
      int attempt,
      URI uri,
      byte[] payload,
      Duration timeout,
      String cacheKey,
      CompletableFuture<JsonNode> result) {
    limiter
        .acquire()
        .thenRun(
            () ->
                send(uri, payload, timeout)
                    .whenComplete(
                        (response, error) -> {
                          limiter.release();
                          if (error == null) {
                            succeeded.incrementAndGet();
                            recordUsage(response);
                            if (cacheKey != null) {
                              cache.put(cacheKey, response);
                            }
                            result.complete(response);
                            return;
                          }
                          ApiException e =
                              error instanceof ApiException a
                                  ? a
                                  : new ApiException(
                                      redact("Request to " + uri + " failed: " + error),
                                      error,
                                      true,
                                      -1);
                          if (e.isRetryable()
                              && attempt < retryPolicy.maxAttempts()
                              && !closed.get()) {
                            Duration delay =
                                retryPolicy.delay(
                                    attempt,
                                    e instanceof RetryAfterException r ? r.retryAfter : null);
                            LOG.warn(
                                "Retrying after API error: {} ({}); attempt {} of {} in {} ms",
                                e.getMessage(),
                                uri,
                                attempt + 1,
                                retryPolicy.maxAttempts(),
                                delay.toMillis());
                            retries.incrementAndGet();
                            try {
                              scheduler.schedule(
                                  () ->
                                      attempt(attempt + 1, uri, payload, timeout, cacheKey, result),
                                  delay.toNanos(),
                                  TimeUnit.NANOSECONDS);
                              return;
                            } catch (RejectedExecutionException closedMeanwhile) {
                              // fall through: the client was closed during the retry
                            }
                          }
                          failed.incrementAndGet();
                          String prefix =
                              e.isRetryable()
                                  ? "Exceeded max tries ("
                                      + retryPolicy.maxAttempts()
                                      + ") on HTTP request: "
                                  : "Unretryable error on HTTP request: ";
                          result.completeExceptionally(
                              new ApiException(
                                  prefix + e.getMessage(), e, e.isRetryable(), e.statusCode()));
                        }));
  }

  /** One HTTP attempt; completes with the parsed body or a classified {@link ApiException}. */
  private CompletableFuture<JsonNode> send(URI uri, byte[] payload, Duration timeout) {
    try {
      return sendOnce(uri, payload, timeout);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(
          new ApiException("Cannot send to " + uri + " (client closed?): " + e, e, false, -1));
    }
  }

  private CompletableFuture<JsonNode> sendOnce(URI uri, byte[] payload, Duration timeout) {
    requests.incrementAndGet();
    SimpleRequestBuilder rb =
        SimpleRequestBuilder.post(uri).setBody(payload, ContentType.APPLICATION_JSON);
    if (!apiKey.isEmpty()) {
      rb.addHeader("Authorization", "Bearer " + apiKey);
    }
    SimpleHttpRequest request = rb.build();
    request.setConfig(RequestConfig.custom().setResponseTimeout(Timeout.of(timeout)).build());
    CompletableFuture<JsonNode> out = new CompletableFuture<>();
    Future<SimpleHttpResponse> inFlight =
        http.execute(
            request,
            new FutureCallback<>() {
              @Override
              public void completed(SimpleHttpResponse response) {
                try {
                  out.complete(handle(uri, response));
                } catch (ApiException e) {
                  out.completeExceptionally(e);
                }
              }

              @Override
              public void failed(Exception ex) {
                out.completeExceptionally(
                    new ApiException(
                        redact("Transport error calling " + uri + ": " + ex), ex, true, -1));
              }

              @Override
              public void cancelled() {
                out.completeExceptionally(
                    new ApiException(
                        "Request to " + uri + " timed out after " + timeout.toMillis() + " ms",
                        true,
                        -1));
              }
            });
    // The response timeout is per read; this bounds the whole attempt.
    var deadline =
        scheduler.schedule(() -> inFlight.cancel(true), timeout.toNanos(), TimeUnit.NANOSECONDS);
    out.whenComplete((r, e) -> deadline.cancel(false));
    return out;
  }

  private JsonNode handle(URI uri, SimpleHttpResponse response) {
    int status = response.getCode();
    String text = response.getBodyText();
    if (status < 200 || status >= 300) {
      String message = redact("HTTP " + status + " from " + uri + ": " + abbreviate(text));
      if (status == 400 || status == 404 || status == 415) {
        boolean idempotency = isIdempotencyError(text);
        throw new ApiException(message, idempotency, status);
      }
      Duration retryAfter = retryAfter(response.getFirstHeader("Retry-After"));
      throw retryAfter == null
          ? new ApiException(message, true, status)
          : new RetryAfterException(message, status, retryAfter);
    }
    try {
      JsonNode node = Json.MAPPER.readTree(text == null ? "" : text);
      if (node == null || !node.isObject()) {
        throw new ApiException(
            redact("Response from " + uri + " is not a JSON object: " + abbreviate(text)),
            true,
            status);
      }
      return node;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ApiException(
          redact("Malformed JSON from " + uri + ": " + abbreviate(text)), e, true, status);
    }
  }

  private static boolean isIdempotencyError(String text) {
    try {
      JsonNode node = Json.MAPPER.readTree(text == null ? "" : text);
      return node != null
          && "idempotency_error".equals(node.path("error").path("type").asText(null));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return false;
    }
  }

  static Duration retryAfter(Header header) {
    if (header == null || header.getValue() == null) {
      return null;
    }
    String v = header.getValue().trim();
    try {
      return Duration.ofMillis((long) (Double.parseDouble(v) * 1000));
    } catch (NumberFormatException e) {
      try {
        Duration d =
            Duration.between(
                ZonedDateTime.now(), ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
        return d.isNegative() ? Duration.ZERO : d;
      } catch (RuntimeException ignored) {
        return null;
      }
    }
  }

  private void recordUsage(JsonNode response) {
    JsonNode usage = response.path("usage");
    promptTokens.addAndGet(usage.path("prompt_tokens").asLong(0));
    completionTokens.addAndGet(usage.path("completion_tokens").asLong(0));
    totalTokens.addAndGet(usage.path("total_tokens").asLong(0));
  }

  private String redact(String s) {
    return apiKey == null || apiKey.isEmpty() ? s : s.replace(apiKey, "***");
  }

  private static String abbreviate(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= 500 ? s : s.substring(0, 500) + "…";
  }

  /** A retryable HTTP error that carries the server's {@code Retry-After}. */
  private static final class RetryAfterException extends ApiException {
    final Duration retryAfter;

    RetryAfterException(String message, int status, Duration retryAfter) {
      super(message, true, status);
      this.retryAfter = retryAfter;
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      scheduler.shutdownNow();
      http.close(CloseMode.GRACEFUL);
    }
  }

  @Override
  public String toString() {
    return "OpenAiClient[" + baseUrl + ", model=" + model + "]";
  }
}
