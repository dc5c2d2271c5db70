package io.github.neuronexplainer.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The in-repo tiny pack ({@code fixtures/tiny}: {@code data/} with the model and SAEs, {@code
 * golden/} with the original's outputs) as a fixture of this module's unit tests, read with the
 * module's own readers. Conformance against the goldens of every pack is tested in the
 * neuron-explainer-conformance module.
 */
public final class TestPack {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path root;
  private final JsonNode manifest;

  public record Prompt(
      String id, String text, int[] tokens, int targetToken, int distractorToken) {}

  private TestPack(Path root) {
    this.root = root;
    this.manifest = readJson(root.resolve("golden/manifest.json"));
  }

  /** The in-repo tiny pack (tests run in the module's folder). */
  public static TestPack load() {
    return new TestPack(Path.of("../fixtures/tiny"));
  }

  public Path root() {
    return root;
  }

  public JsonNode manifest() {
    return manifest;
  }

  public Path data(String relative) {
    return root.resolve("data").resolve(relative);
  }

  public Path golden(String relative) {
    return root.resolve("golden").resolve(relative);
  }

  /** The model folders of the pack that exist: the original's layout and/or the HF copy. */
  public List<Path> modelDirs() {
    String path = manifest.path("model").path("path").asText();
    List<Path> dirs = new ArrayList<>();
    for (String candidate : List.of(path, path + "-hf")) {
      Path dir = data(candidate);
      if (Files.isRegularFile(dir.resolve("config.json"))) {
        dirs.add(dir);
      }
    }
    if (dirs.isEmpty()) {
      throw new IllegalStateException("The pack has no model under " + data(path));
    }
    return dirs;
  }

  public List<Prompt> prompts() {
    List<Prompt> prompts = new ArrayList<>();
    for (JsonNode p : manifest.path("prompts")) {
      int[] tokens = new int[p.path("tokens").size()];
      for (int i = 0; i < tokens.length; i++) {
        tokens[i] = p.path("tokens").get(i).asInt();
      }
      prompts.add(
          new Prompt(
              p.path("id").asText(),
              p.path("text").asText(),
              tokens,
              p.path("target_token").asInt(),
              p.path("distractor_token").asInt()));
    }
    return prompts;
  }

  public Map<String, HostTensor> tensors(String goldenRelative) {
    return SafetensorsFile.read(golden(goldenRelative)).tensors();
  }

  public JsonNode json(String goldenRelative) {
    return readJson(golden(goldenRelative));
  }

  public boolean hasGolden(String relative) {
    return Files.exists(golden(relative));
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
  }
}
