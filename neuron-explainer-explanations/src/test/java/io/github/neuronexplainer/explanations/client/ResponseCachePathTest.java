package io.github.neuronexplainer.explanations.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The response cache only ever writes {@code <sha-256>.json} inside its directory. */
class ResponseCachePathTest {
  @TempDir Path dir;

  @Test
  void keysAreHexDigestsAndHostileKeysAreRefused() throws Exception {
    Path root = dir.resolve("responses");
    ResponseCache cache = new ResponseCache(root);
    String key = ResponseCache.key("model http://x", "{\"prompt\":\"../../etc\"}");
    assertTrue(key.matches("[0-9a-f]{64}"), key);
    cache.put(key, JsonNodeFactory.instance.textNode("ok"));
    assertEquals(List.of(root.resolve(key + ".json")), list(root));
    for (String hostile : List.of("../evil", "/tmp/evil", "a\\b", "%2e%2e/evil", "a\0b")) {
      assertThrows(
          IllegalArgumentException.class,
          () -> cache.put(hostile, JsonNodeFactory.instance.textNode("x")),
          hostile);
    }
    assertEquals(List.of(root, root.resolve(key + ".json")), list(dir), "nothing else was written");
  }

  private static List<Path> list(Path folder) throws Exception {
    try (Stream<Path> files = Files.walk(folder)) {
      return files.filter(p -> !p.equals(folder)).sorted().toList();
    }
  }
}
