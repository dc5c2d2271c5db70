package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Locations of test fixtures. */
final class TestData {
  /** The full public pack's data, beside the repository (both checkpoint layouts, .pt SAEs). */
  static final Path SHARED_TINY = Path.of("../../shared/conformance/tiny/data");

  private TestData() {}

  /** A file under {@code src/test/resources/weights/}. */
  static Path resource(String relative) {
    try {
      return Path.of(TestData.class.getResource("/weights/" + relative).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("missing test resource weights/" + relative, e);
    }
  }

  /** The shared tiny-model folder; skips the test when it is not on this machine. */
  static Path sharedTiny() {
    assumeTrue(
        Files.isDirectory(SHARED_TINY.resolve("tiny-gpt2-hf")),
        "skipped: the whole tiny model in both layouts is only read from "
            + SHARED_TINY
            + ", which does not exist here");
    return SHARED_TINY;
  }
}
