package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No weight path, whatever its spelling, resolves outside the cache or the local folder. */
class CachePathSafetyTest {
  @TempDir Path dir;

  static final List<String> HOSTILE =
      List.of(
          "../x.bin",
          "a/../../x.bin",
          "./x.bin",
          "a//x.bin",
          "a/",
          "",
          "/etc/passwd",
          "C:/x.bin",
          "c:x.bin",
          "a\\..\\x.bin",
          "a\\x.bin",
          "x\0.bin",
          "x\n.bin",
          "%2e%2e/x.bin",
          "%2E%2E/x.bin",
          "a/%2e%2e/%2e%2e/x.bin",
          "%2e/x.bin",
          "..%2fx.bin",
          "..%2Fx.bin",
          "a%5c..%5cx.bin",
          "x%00.bin",
          "%zz.bin");

  @Test
  void everyHostileWeightPathIsRefusedBeforeAnyFileOrRequest() throws IOException {
    Path cache = Files.createDirectories(dir.resolve("cache"));
    HttpSource http = new HttpSource(URI.create("http://127.0.0.1:9/models/"), cache);
    Path folder = Files.createDirectories(dir.resolve("folder"));
    LocalFolderSource local = new LocalFolderSource(folder);
    for (String name : HOSTILE) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> http.cachePathOf(name), name);
      assertTrue(e.getMessage().startsWith("Refusing weight path"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> http.fetch(name), name);
      assertThrows(IllegalArgumentException.class, () -> http.isCached(name), name);
      assertThrows(IllegalArgumentException.class, () -> local.exists(name), name);
    }
    try (Stream<Path> written = Files.walk(dir)) {
      assertEquals(List.of(dir, cache, folder), written.sorted().toList(), "nothing was written");
    }
  }

  @Test
  void errorsSayWhatWasWrong() {
    HttpSource http = new HttpSource(URI.create("http://127.0.0.1:9/m/"), dir);
    assertTrue(http.cachePathOf("a").startsWith(dir.toAbsolutePath()));
    assertMessage(http, "%2e%2e/x", "'..' segment");
    assertMessage(http, "/x", "absolute");
    assertMessage(http, "a\\b", "backslash");
    assertMessage(http, "a\0b", "control character (U+0000)");
    assertMessage(http, "..%2fx", "encoded '/'");
  }

  private static void assertMessage(HttpSource http, String name, String expected) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> http.cachePathOf(name));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertFalse(e.getMessage().contains("\0"), "the NUL is shown escaped");
  }

  @Test
  void plainNamesWithDotsAndEscapesStayUsable() {
    HttpSource http = new HttpSource(URI.create("http://127.0.0.1:9/m/"), dir);
    Path root = http.cachePathOf("a").getParent();
    assertEquals(root.resolve("model_pieces/x..y.pt"), http.cachePathOf("model_pieces/x..y.pt"));
    assertEquals(root.resolve(".hidden"), http.cachePathOf(".hidden"));
    assertEquals(root.resolve("a%20b.pt"), http.cachePathOf("a%20b.pt"));
  }
}
