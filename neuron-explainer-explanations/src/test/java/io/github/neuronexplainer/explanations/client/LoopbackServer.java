package io.github.neuronexplainer.explanations.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** A loopback HTTP server whose answers a test scripts; records requests and peak concurrency. */
final class LoopbackServer implements AutoCloseable {
  /** One scripted answer. */
  record Answer(int status, String body, Map<String, String> headers, long delayMillis) {
    static Answer ok(String body) {
      return new Answer(200, body, Map.of(), 0);
    }

    static Answer status(int status, String body) {
      return new Answer(status, body, Map.of(), 0);
    }
  }

  @FunctionalInterface
  interface Script {
    Answer answer(int requestNumber, String body, HttpExchange exchange);
  }

  final List<String> bodies = new CopyOnWriteArrayList<>();
  final List<String> authorizations = new CopyOnWriteArrayList<>();
  final List<String> paths = new CopyOnWriteArrayList<>();
  final AtomicInteger count = new AtomicInteger();
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger peakInFlight = new AtomicInteger();
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();

  LoopbackServer(Script script) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 200);
    server.setExecutor(executor);
    server.createContext(
        "/",
        exchange -> {
          int now = inFlight.incrementAndGet();
          peakInFlight.accumulateAndGet(now, Math::max);
          try (exchange) {
            String body =
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            bodies.add(body);
            paths.add(exchange.getRequestURI().getPath());
            authorizations.add(
                String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            Answer a = script.answer(count.incrementAndGet(), body, exchange);
            if (a.delayMillis() > 0) {
              Thread.sleep(a.delayMillis());
            }
            byte[] bytes = a.body().getBytes(StandardCharsets.UTF_8);
            a.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(a.status(), bytes.length == 0 ? -1 : bytes.length);
            exchange.getResponseBody().write(bytes);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          } catch (IOException e) {
            // client went away (timeout tests)
          } finally {
            inFlight.decrementAndGet();
          }
        });
    server.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  static final String CHAT_OK =
      "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"}}],"
          + "\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":1,\"total_tokens\":8}}";
}
