package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HttpSourceTest {
  @TempDir Path dir;

  @Test
  void downloadsCheckpointOnceThenServesFromCache() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeHf(
            dir.resolve("served/tiny"), SyntheticCheckpoints.hfTensors(1, ""));
    Path cache = dir.resolve("cache");
    try (LoopbackServer server = new LoopbackServer().mount("/models/", dir.resolve("served"))) {
      HttpSource source = new HttpSource(server.url("/models/tiny"), cache);
      Gpt2Checkpoint remote = Gpt2Checkpoint.load(source);
      assertEquals(Gpt2Checkpoint.load(folder).tensors(), remote.tensors());
      assertEquals(
          List.of("GET /models/tiny/config.json", "GET /models/tiny/model.safetensors"),
          server.requests);
      Path cached = cache.resolve("127.0.0.1_" + server.port() + "/models/tiny/model.safetensors");
      assertEquals(cached, source.cachePathOf("model.safetensors"));
      assertArrayEquals(
          Files.readAllBytes(folder.resolve("model.safetensors")), Files.readAllBytes(cached));

      server.requests.clear();
      Gpt2Checkpoint again =
          Gpt2Checkpoint.load(new HttpSource(server.url("/models/tiny/"), cache));
      assertEquals(remote.tensors(), again.tensors());
      assertEquals(List.of(), server.requests, "second load must not touch the network");
    }
  }

  @Test
  void loadsOriginalPiecesLayoutOverHttp() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeOriginal(
            dir.resolve("served/orig"),
            Gpt2CheckpointTest.SMALL_ORIGINAL,
            Gpt2CheckpointTest.randomOriginal(3));
    try (LoopbackServer server = new LoopbackServer().mount("/", dir.resolve("served"))) {
      Gpt2Checkpoint remote =
          Gpt2Checkpoint.load(new HttpSource(server.url("/orig/"), dir.resolve("cache")));
      assertEquals(Gpt2Checkpoint.load(folder).tensors(), remote.tensors());
      assertTrue(
          server.requests.contains("GET /orig/model_pieces/tok_embed.weight.pt"),
          server.requests.toString());
      assertEquals(
          1 + Gpt2Checkpoint.expectedShapes(remote.config()).size(),
          server.requests.size(),
          "one GET per file, no HEAD: " + server.requests);
    }
  }

  @Test
  void missingPieceOverHttpIsNamed() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeOriginal(
            dir.resolve("served/orig"),
            Gpt2CheckpointTest.SMALL_ORIGINAL,
            Gpt2CheckpointTest.randomOriginal(6));
    Files.delete(folder.resolve("model_pieces/xf_layers.0.mlp.out_layer.weight.pt"));
    try (LoopbackServer server = new LoopbackServer().mount("/", dir.resolve("served"))) {
      WeightFormatException e =
          assertThrows(
              WeightFormatException.class,
              () ->
                  Gpt2Checkpoint.load(new HttpSource(server.url("/orig/"), dir.resolve("cache"))));
      assertTrue(
          e.getMessage().contains("tensor 'xf_layers.0.mlp.out_layer.weight' is missing"),
          e.getMessage());
      assertTrue(
          e.getMessage()
              .contains(
                  server.url("/orig/model_pieces/xf_layers.0.mlp.out_layer.weight.pt").toString()),
          e.getMessage());
    }
    assertEquals(
        List.of(),
        regularFilesUnder(dir.resolve("cache")).stream()
            .filter(p -> p.getFileName().toString().endsWith(".part"))
            .toList(),
        "cancelled downloads leave no temp files");
  }

  @Test
  void reportsThrottledProgressEndingWithTheTotal() throws IOException {
    byte[] payload = new byte[3 * 1024 * 1024 + 17];
    new Random(5).nextBytes(payload);
    Files.createDirectories(dir.resolve("served"));
    Files.write(dir.resolve("served/blob.bin"), payload);
    List<long[]> updates = new ArrayList<>();
    try (LoopbackServer server = new LoopbackServer().mount("/", dir.resolve("served"))) {
      Path file =
          new HttpSource(server.url("/"), dir.resolve("cache"))
              .fetch("blob.bin", (done, total) -> updates.add(new long[] {done, total}));
      assertArrayEquals(payload, Files.readAllBytes(file));
    }
    assertArrayEquals(new long[] {payload.length, payload.length}, updates.get(updates.size() - 1));
    assertTrue(updates.size() >= 2, "expected intermediate updates, got " + updates.size());
    assertTrue(
        updates.size() <= payload.length / (256 * 1024) + 40,
        "updates must be throttled, got " + updates.size());
    long previous = -1;
    for (long[] update : updates) {
      assertTrue(update[0] >= previous, "progress must not go backwards");
      assertEquals(payload.length, update[1]);
      previous = update[0];
    }
  }

  @Test
  void notFoundIsAClearErrorAndLeavesNoFile() throws IOException {
    Path cache = dir.resolve("cache");
    try (LoopbackServer server = new LoopbackServer()) {
      HttpSource source = new HttpSource(server.url("/nothing/"), cache);
      WeightFetchException e =
          assertThrows(WeightFetchException.class, () -> source.fetch("config.json"));
      assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
      assertTrue(
          e.getMessage().contains(server.url("/nothing/config.json").toString()), e.getMessage());
      assertFalse(source.exists("config.json"));
    }
    assertEquals(List.of(), regularFilesUnder(cache));
  }

  @Test
  void truncatedBodyIsAnErrorAndLeavesNoFileOrTempFile() throws Exception {
    Path cache = dir.resolve("cache");
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Thread server =
          new Thread(
              () -> {
                try (Socket client = socket.accept();
                    OutputStream out = client.getOutputStream()) {
                  client.getInputStream().read(new byte[4096]);
                  out.write(
                      ("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                          .getBytes(StandardCharsets.US_ASCII));
                  out.write(new byte[5000]);
                  out.flush();
                } catch (IOException ignored) {
                  // the client may hang up first
                }
              });
      server.start();
      HttpSource source =
          new HttpSource(URI.create("http://127.0.0.1:" + socket.getLocalPort() + "/m/"), cache);
      WeightFetchException e =
          assertThrows(WeightFetchException.class, () -> source.fetch("model.safetensors"));
      assertTrue(e.getMessage().contains("/m/model.safetensors"), e.getMessage());
      server.join(10_000);
      assertFalse(Files.exists(source.cachePathOf("model.safetensors")));
    }
    assertEquals(List.of(), regularFilesUnder(cache));
  }

  @Test
  void followsRedirects() throws IOException {
    Files.createDirectories(dir.resolve("served"));
    Files.writeString(dir.resolve("served/config.json"), "{}");
    try (LoopbackServer server =
        new LoopbackServer().redirect("/resolve/", "/cdn/").mount("/cdn/", dir.resolve("served"))) {
      HttpSource source = new HttpSource(server.url("/resolve/"), dir.resolve("cache"));
      assertEquals("{}", Files.readString(source.fetch("config.json")));
      assertEquals(List.of("GET /resolve/config.json", "GET /cdn/config.json"), server.requests);
      assertTrue(source.exists("config.json"));
      assertEquals(2, server.requests.size(), "exists() of a cached file needs no request");
    }
  }

  @Test
  void existsAsksTheServerWithHead() throws IOException {
    Files.createDirectories(dir.resolve("served"));
    Files.writeString(dir.resolve("served/a.txt"), "a");
    try (LoopbackServer server = new LoopbackServer().mount("/", dir.resolve("served"))) {
      HttpSource source = new HttpSource(server.url("/"), dir.resolve("cache"));
      assertTrue(source.exists("a.txt"));
      assertFalse(source.exists("b.txt"));
      assertEquals(List.of("HEAD /a.txt", "HEAD /b.txt"), server.requests);
    }
  }

  @Test
  void rejectsUnsafePathsAndUrls() {
    HttpSource source = new HttpSource(URI.create("https://example.org/x/"), dir);
    IllegalArgumentException up =
        assertThrows(IllegalArgumentException.class, () -> source.fetch("../etc/passwd"));
    assertTrue(up.getMessage().contains("'..'"), up.getMessage());
    assertThrows(IllegalArgumentException.class, () -> source.fetch("/abs"));
    IllegalArgumentException secret =
        assertThrows(
            IllegalArgumentException.class,
            () -> new HttpSource(URI.create("https://user:hunter2@example.org/x/"), dir));
    assertFalse(secret.getMessage().contains("hunter2"), secret.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> new HttpSource(URI.create("file:///etc/"), dir));
    assertEquals(
        URI.create("https://example.org/x/model_pieces/a%20b.pt"),
        source.urlOf("model_pieces/a b.pt"));
  }

  @Test
  void sharedTinyModelLoadsOverHttp() throws IOException {
    Path tiny = TestData.sharedTiny();
    try (LoopbackServer server = new LoopbackServer().mount("/data/", tiny)) {
      Gpt2Checkpoint remote =
          Gpt2Checkpoint.load(
              new HttpSource(server.url("/data/tiny-gpt2-hf/"), dir.resolve("cache")));
      assertEquals(Gpt2Checkpoint.load(tiny.resolve("tiny-gpt2-hf")).tensors(), remote.tensors());
    }
  }

  static List<Path> regularFilesUnder(Path root) throws IOException {
    if (!Files.exists(root)) {
      return List.of();
    }
    try (Stream<Path> files = Files.walk(root)) {
      return files.filter(Files::isRegularFile).toList();
    }
  }
}
