package io.github.neuronexplainer.models.weights;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Test helper: an HTTP server on 127.0.0.1 that serves folders and records every request. */
final class LoopbackServer implements AutoCloseable {
  private final HttpServer server;
  private final Map<String, Path> mounts = new ConcurrentHashMap<>();
  private final Map<String, String> redirects = new ConcurrentHashMap<>();
  final List<String> requests = new CopyOnWriteArrayList<>();

  LoopbackServer() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  /** Serves files of {@code folder} under URL path {@code prefix} (e.g. "/models/"). */
  LoopbackServer mount(String prefix, Path folder) {
    mounts.put(prefix, folder);
    return this;
  }

  /**
   * Answers 302 for paths under {@code fromPrefix}, pointing to the same rest under {@code
   * toPrefix}.
   */
  LoopbackServer redirect(String fromPrefix, String toPrefix) {
    redirects.put(fromPrefix, toPrefix);
    return this;
  }

  URI url(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  int port() {
    return server.getAddress().getPort();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String path = exchange.getRequestURI().getPath();
    requests.add(exchange.getRequestMethod() + " " + path);
    try (exchange) {
      for (Map.Entry<String, String> r : redirects.entrySet()) {
        if (path.startsWith(r.getKey())) {
          exchange
              .getResponseHeaders()
              .add("Location", r.getValue() + path.substring(r.getKey().length()));
          exchange.sendResponseHeaders(302, -1);
          return;
        }
      }
      for (Map.Entry<String, Path> mount : mounts.entrySet()) {
        if (path.startsWith(mount.getKey())) {
          Path file = mount.getValue().resolve(path.substring(mount.getKey().length())).normalize();
          if (file.startsWith(mount.getValue()) && Files.isRegularFile(file)) {
            long size = Files.size(file);
            if (exchange.getRequestMethod().equals("HEAD")) {
              exchange.getResponseHeaders().add("Content-Length", Long.toString(size));
              exchange.sendResponseHeaders(200, -1);
            } else {
              exchange.sendResponseHeaders(200, size);
              try (OutputStream body = exchange.getResponseBody()) {
                Files.copy(file, body);
              }
            }
            return;
          }
        }
      }
      exchange.sendResponseHeaders(404, -1);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
