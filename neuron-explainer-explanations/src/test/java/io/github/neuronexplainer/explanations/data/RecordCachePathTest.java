package io.github.neuronexplainer.explanations.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A record URL can never make the cache write outside its directory. */
class RecordCachePathTest {
  @TempDir Path dir;

  @Test
  void hostileUrlPathsAreRefusedBeforeAnyRequest() throws Exception {
    Path cache = Files.createDirectories(dir.resolve("cache"));
    RecordStore store = new RecordStore(cache);
    // port 9 (discard) on loopback: a request that got through would fail differently
    for (String path :
        List.of(
            "/%2e%2e/%2e%2e/evil.json",
            "/a/%2E%2E/%2e%2e/evil.json",
            "/a/..%2f..%2fevil.json",
            "/a/%5c..%5cevil.json",
            "/a/%00.json",
            "/a//evil.json",
            "/")) {
      String url = "http://127.0.0.1:9" + path;
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> store.read(url), url);
      assertTrue(
          e.getMessage().startsWith("Refusing record URL path")
              || e.getMessage().startsWith("Cannot cache"),
          e.getMessage());
    }
    try (Stream<Path> files = Files.walk(dir)) {
      assertEquals(List.of(dir, cache), files.sorted().toList());
    }
  }

  @Test
  void plainUrlsMapToHostAndPathInsideTheCache() {
    Path cache = dir.resolve("cache");
    RecordStore store = new RecordStore(cache);
    assertEquals(
        cache.toAbsolutePath().resolve("example.org/data/3/7.json"),
        store.cachePathOf(URI.create("https://example.org/data/3/7.json")));
  }
}
