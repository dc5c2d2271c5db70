package io.github.neuronexplainer.explanations.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.explanations.client.LoopbackServer.Answer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.scoring.Scoring;
import io.github.neuronexplainer.explanations.simulator.ExplanationNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a loopback server that misbehaves: each fault is retried or surfaced per the
 * policy.
 */
class OpenAiClientFaultTest {
  static final String KEY = "sk-test-SECRET-0123456789";
  static final RetryPolicy FAST =
      RetryPolicy.ORIGINAL
          .withDelays(Duration.ofMillis(10), Duration.ofMillis(40))
          .withMaxAttempts(5);

  static OpenAiClient client(LoopbackServer server, RetryPolicy policy) {
    return OpenAiClient.builder()
        .baseUrl(server.baseUrl())
        .apiKey(KEY)
        .model("test-model")
        .retryPolicy(policy)
        .defaultTimeout(Duration.ofSeconds(5))
        .build();
  }

  static ApiRequest chat(String content) {
    ObjectNode body = ApiRequest.newBody();
    body.putArray("messages").addObject().put("role", "user").put("content", content);
    body.put("max_tokens", 1);
    return new ApiRequest(body, null);
  }

  static ApiException failure(OpenAiClient c, ApiRequest r) {
    return assertThrows(ApiException.class, () -> c.generateBlocking(r));
  }

  static void assertNoKey(Throwable t) {
    for (Throwable x = t; x != null; x = x.getCause()) {
      assertFalse(String.valueOf(x.getMessage()).contains(KEY), "key leaked in: " + x.getMessage());
    }
  }

  @Test
  void retries429WithoutRetryAfterThenSucceeds() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n <= 2
                        ? Answer.status(429, "{\"error\":{\"type\":\"rate_limit\"}}")
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c = client(server, FAST)) {
      JsonNode r = c.generateBlocking(chat("hi"));
      assertEquals("ok", r.path("choices").path(0).path("message").path("content").asText());
      assertEquals(3, server.count.get());
      UsageTotals u = c.usage();
      assertEquals(3, u.requests());
      assertEquals(2, u.retries());
      assertEquals(8, u.totalTokens());
      assertEquals("/v1/chat/completions", server.paths.get(0));
      assertEquals("Bearer " + KEY, server.authorizations.get(0));
      assertTrue(server.bodies.get(0).endsWith(",\"model\":\"test-model\"}"), server.bodies.get(0));
    }
  }

  @Test
  void honoursRetryAfter() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n == 1
                        ? new Answer(429, "{\"error\":{}}", Map.of("Retry-After", "1"), 0)
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c = client(server, FAST)) {
      long start = System.nanoTime();
      c.generateBlocking(chat("hi"));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis >= 950, "waited only " + millis + " ms despite Retry-After: 1");
      assertEquals(2, server.count.get());
    }
  }

  @Test
  void retries500UntilSuccess() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n <= 3
                        ? Answer.status(500, "<html>oops</html>")
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c = client(server, FAST)) {
      c.generateBlocking(chat("hi"));
      assertEquals(4, server.count.get());
    }
  }

  @Test
  void gives500UpAfterMaxAttempts() throws Exception {
    try (var server = new LoopbackServer((n, b, e) -> Answer.status(503, "busy"));
        var c = client(server, FAST)) {
      ApiException e = failure(c, chat("hi"));
      assertEquals(5, server.count.get());
      assertEquals(503, e.statusCode());
      assertTrue(e.getMessage().startsWith("Exceeded max tries (5)"), e.getMessage());
      assertEquals(1, c.usage().failed());
    }
  }

  @Test
  void doesNotRetry400404415() throws Exception {
    for (int status : new int[] {400, 404, 415}) {
      try (var server =
              new LoopbackServer(
                  (n, b, e) ->
                      Answer.status(
                          status,
                          "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad key "
                              + KEY
                              + "\"}}"));
          var c = client(server, FAST)) {
        ApiException e = failure(c, chat("hi"));
        assertEquals(1, server.count.get(), "status " + status + " must not be retried");
        assertEquals(status, e.statusCode());
        assertFalse(e.isRetryable());
        assertTrue(e.getMessage().startsWith("Unretryable error"), e.getMessage());
        assertTrue(e.getMessage().contains("***"), "the echoed key is redacted");
        assertNoKey(e);
      }
    }
  }

  @Test
  void nonJson400IsNotRetriedEither() throws Exception {
    // Upstream retries this case only because printing the non-JSON body crashes; the port does
    // not.
    try (var server =
            new LoopbackServer((n, b, e) -> Answer.status(400, "<html>Bad Request</html>"));
        var c = client(server, FAST)) {
      ApiException e = failure(c, chat("hi"));
      assertEquals(1, server.count.get());
      assertEquals(400, e.statusCode());
    }
  }

  @Test
  void theKeyNeverReachesTheLog() throws Exception {
    java.io.PrintStream original = System.err;
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    System.setErr(new java.io.PrintStream(captured, true, StandardCharsets.UTF_8));
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n == 1
                        ? Answer.status(
                            500,
                            "{\"error\":{\"message\":\"Incorrect API key provided: " + KEY + "\"}}")
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c = client(server, FAST)) {
      c.generateBlocking(chat("hi"));
    } finally {
      System.setErr(original);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertTrue(log.contains("Retrying after API error"), log);
    assertTrue(log.contains("Incorrect API key provided: ***"), log);
    assertFalse(log.contains(KEY), log);
  }

  @Test
  void retries400IdempotencyError() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n == 1
                        ? Answer.status(400, "{\"error\":{\"type\":\"idempotency_error\"}}")
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c = client(server, FAST)) {
      c.generateBlocking(chat("hi"));
      assertEquals(2, server.count.get());
    }
  }

  @Test
  void slowResponsePastTheTimeoutIsRetriedThenSurfaced() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) -> new Answer(200, LoopbackServer.CHAT_OK, Map.of(), 3000));
        var c = client(server, FAST.withMaxAttempts(2))) {
      ObjectNode body = chat("hi").body();
      long start = System.nanoTime();
      ApiException e =
          assertThrows(
              ApiException.class,
              () -> c.generateBlocking(new ApiRequest(body, Duration.ofMillis(300))));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertTrue(millis < 2500, "timeout not enforced: " + millis + " ms");
      assertTrue(
          e.getMessage().contains("timed out") || e.getMessage().toLowerCase().contains("timeout"),
          e.getMessage());
      assertEquals(2, server.count.get());
    }
  }

  @Test
  void malformedJsonIsRetriedAndThenSurfaced() throws Exception {
    try (var server = new LoopbackServer((n, b, e) -> Answer.ok("{\"choices\": ["));
        var c = client(server, FAST.withMaxAttempts(3))) {
      ApiException e = failure(c, chat("hi"));
      assertEquals(3, server.count.get());
      assertTrue(e.getMessage().contains("Malformed JSON"), e.getMessage());
    }
  }

  @Test
  void missingLogprobsFailsTheSimulationAndNothingIsScored() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) -> Answer.ok("{\"choices\":[{\"text\":\"x\",\"logprobs\":null}]}"));
        var c = client(server, FAST)) {
      var simulator =
          new ExplanationNeuronSimulator(c, "cats", FewShotExampleSet.TEST, PromptFormat.NONE);
      List<ActivationRecord> records =
          List.of(ActivationRecord.of(List.of(" a", " cat"), List.of(0.0, 1.0)));
      ApiException e =
          assertThrows(
              ApiException.class,
              () ->
                  io.github.neuronexplainer.explanations.client.LlmClient.await(
                      Scoring.simulateAndScore(simulator, records)));
      assertTrue(e.getMessage().contains("logprobs"), e.getMessage());
      assertEquals(1, server.count.get(), "a well-formed response without logprobs is not retried");
      assertEquals("/v1/completions", server.paths.get(0));
    }
  }

  @Test
  void serverErrorDuringScoringFailsInsteadOfScoringZero() throws Exception {
    try (var server = new LoopbackServer((n, b, e) -> Answer.status(500, "down"));
        var c = client(server, FAST.withMaxAttempts(2))) {
      var simulator = new LogprobFreeExplanationTokenSimulator(c, "cats", FewShotExampleSet.TEST);
      List<ActivationRecord> records =
          List.of(ActivationRecord.of(List.of(" a", " cat"), List.of(0.0, 1.0)));
      assertThrows(
          ApiException.class, () -> LlmClient.await(Scoring.simulateAndScore(simulator, records)));
    }
  }

  @Test
  void droppedConnectionsAreRetried() throws Exception {
    AtomicInteger accepted = new AtomicInteger();
    try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread t =
          new Thread(
              () -> {
                while (!socket.isClosed()) {
                  try (Socket s = socket.accept()) {
                    int n = accepted.incrementAndGet();
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[65536];
                    int read = in.read(buf);
                    String head = read > 0 ? new String(buf, 0, read, StandardCharsets.UTF_8) : "";
                    int len = contentLength(head);
                    int have = head.contains("\r\n\r\n") ? read - head.indexOf("\r\n\r\n") - 4 : 0;
                    while (have < len) {
                      int r = in.read(buf);
                      if (r < 0) {
                        break;
                      }
                      have += r;
                    }
                    if (n <= 2) {
                      continue; // drop the connection without answering
                    }
                    byte[] body = LoopbackServer.CHAT_OK.getBytes(StandardCharsets.UTF_8);
                    OutputStream out = s.getOutputStream();
                    out.write(
                        ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: "
                                + body.length
                                + "\r\n\r\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.write(body);
                    out.flush();
                  } catch (IOException e) {
                    // socket closed at the end of the test
                  }
                }
              });
      t.setDaemon(true);
      t.start();
      try (var c =
          OpenAiClient.builder()
              .baseUrl("http://127.0.0.1:" + socket.getLocalPort() + "/v1")
              .apiKey(KEY)
              .model("m")
              .retryPolicy(FAST)
              .build()) {
        JsonNode r = c.generateBlocking(chat("hi"));
        assertEquals("ok", r.path("choices").path(0).path("message").path("content").asText());
        assertTrue(accepted.get() >= 3, "connections: " + accepted.get());
        assertTrue(c.usage().retries() >= 2);
      }
    }
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase().startsWith("content-length:")) {
        return Integer.parseInt(line.substring(15).trim());
      }
    }
    return 0;
  }

  @Test
  void connectionRefusedIsSurfacedAfterRetries() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (var c =
        OpenAiClient.builder()
            .baseUrl("http://127.0.0.1:" + port + "/v1")
            .apiKey(KEY)
            .model("m")
            .retryPolicy(FAST.withMaxAttempts(3))
            .build()) {
      ApiException e = failure(c, chat("hi"));
      assertEquals(3, c.usage().requests());
      assertNoKey(e);
    }
  }

  @Test
  void concurrencyIsBounded() throws Exception {
    try (var server =
            new LoopbackServer((n, b, e) -> new Answer(200, LoopbackServer.CHAT_OK, Map.of(), 50));
        var c =
            OpenAiClient.builder()
                .baseUrl(server.baseUrl())
                .apiKey(KEY)
                .model("m")
                .maxConcurrent(3)
                .build()) {
      List<CompletableFuture<JsonNode>> futures = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        futures.add(c.generate(chat("q" + i)));
      }
      CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
      assertEquals(12, server.count.get());
      assertTrue(server.peakInFlight.get() <= 3, "peak " + server.peakInFlight.get());
      assertTrue(
          server.peakInFlight.get() >= 2,
          "requests should overlap, peak " + server.peakInFlight.get());
    }
  }

  @Test
  void cacheAnswersRepeatsFromMemoryAndDisk(@TempDir Path dir) throws Exception {
    try (var server = new LoopbackServer((n, b, e) -> Answer.ok(LoopbackServer.CHAT_OK))) {
      try (var c =
          OpenAiClient.builder()
              .baseUrl(server.baseUrl())
              .apiKey(KEY)
              .model("m")
              .cacheDirectory(dir)
              .build()) {
        c.generateBlocking(chat("same"));
        c.generateBlocking(chat("same"));
        c.generateBlocking(chat("other"));
        assertEquals(2, server.count.get());
        assertEquals(1, c.usage().cacheHits());
      }
      try (var rerun =
          OpenAiClient.builder()
              .baseUrl(server.baseUrl())
              .apiKey(KEY)
              .model("m")
              .cacheDirectory(dir)
              .build()) {
        JsonNode r = rerun.generateBlocking(chat("same"));
        assertNotNull(r.get("choices"));
        rerun.generateBlocking(chat("other"));
        assertEquals(2, server.count.get(), "a rerun with the disk cache sends nothing");
        assertEquals(2, rerun.usage().cacheHits());
      }
      try (var otherModel =
          OpenAiClient.builder()
              .baseUrl(server.baseUrl())
              .apiKey(KEY)
              .model("m2")
              .cacheDirectory(dir)
              .build()) {
        otherModel.generateBlocking(chat("same"));
        assertEquals(3, server.count.get(), "the cache is per model");
      }
    }
  }

  @Test
  void failuresAreNotCached() throws Exception {
    try (var server =
            new LoopbackServer(
                (n, b, e) ->
                    n == 1
                        ? Answer.status(404, "{\"error\":{}}")
                        : Answer.ok(LoopbackServer.CHAT_OK));
        var c =
            OpenAiClient.builder()
                .baseUrl(server.baseUrl())
                .apiKey(KEY)
                .model("m")
                .cache(true)
                .retryPolicy(FAST)
                .build()) {
      failure(c, chat("x"));
      c.generateBlocking(chat("x"));
      assertEquals(2, server.count.get());
    }
  }

  @Test
  void builderExplainsMissingKeyAndModel() {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> OpenAiClient.builder().apiKey(null).model("m").build());
    assertTrue(e.getMessage().contains("OPENAI_API_KEY"));
    assertThrows(IllegalStateException.class, () -> OpenAiClient.builder().apiKey("k").build());
  }

  @Test
  void retryDelaysFollowTheOriginalSchedule() {
    RetryPolicy p = RetryPolicy.ORIGINAL;
    double[] expected = {1, 2, 4, 8, 10, 10};
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], p.baseDelaySeconds(i + 1), 1e-12);
      double d = p.delay(i + 1, null).toNanos() / 1e9;
      assertTrue(d >= expected[i] * 0.8 - 1e-9 && d <= expected[i] * 1.2 + 1e-9, "delay " + d);
    }
    assertEquals(Duration.ofSeconds(30), p.delay(1, Duration.ofSeconds(30)));
    assertEquals(
        Duration.ofSeconds(60), p.delay(1, Duration.ofSeconds(600)), "Retry-After is capped");
  }
}
