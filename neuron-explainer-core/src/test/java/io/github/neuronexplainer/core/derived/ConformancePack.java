package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The conformance pack (goldens of the original, tiny model, tiny SAEs). Its location is the one
 * place to change: system property {@code conformance.dir}.
 */
public final class ConformancePack {
  public static final ObjectMapper JSON =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private ConformancePack() {}

  /**
   * The pack directory (holds {@code golden/} and {@code data/}): the system property {@code
   * conformance.dir}, else the in-repo pack {@code fixtures/tiny} (tests run in a module folder).
   */
  public static Path dir() {
    String configured = System.getProperty("conformance.dir", "");
    return Paths.get(configured.isBlank() ? "../fixtures/tiny" : configured);
  }

  public static Path golden() {
    return dir().resolve("golden");
  }

  public static Path modelDir() {
    return dir().resolve("data/tiny-gpt2-hf");
  }

  public static Path saeDir() {
    return dir().resolve("data/tiny-sae");
  }

  public static JsonNode readJson(Path path) {
    try {
      return JSON.readTree(path.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + path, e);
    }
  }

  /** Prompt ids of the manifest, e.g. p0, p1. */
  public static List<String> promptIds() {
    List<String> ids = new ArrayList<>();
    readJson(golden().resolve("manifest.json")).get("prompts").forEach(p -> ids.add(p.get("id").asText()));
    return ids;
  }

  /** Every tensor of a safetensors file by name, attached to {@code manager}. */
  public static Map<String, NDArray> readSafetensors(Path path, NDManager manager) {
    try (InputStream in = Files.newInputStream(path)) {
      NDList list = NDList.decode(manager, in);
      Map<String, NDArray> byName = new LinkedHashMap<>();
      for (NDArray array : list) {
        byName.put(array.getName(), array);
      }
      return byName;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + path, e);
    }
  }

  /** The {@code __metadata__} of a safetensors file. */
  public static JsonNode safetensorsMetadata(Path path) {
    try (InputStream in = Files.newInputStream(path)) {
      byte[] lengthBytes = in.readNBytes(8);
      long length = 0;
      for (int i = 7; i >= 0; i--) {
        length = (length << 8) | (lengthBytes[i] & 0xff);
      }
      JsonNode header = JSON.readTree(in.readNBytes((int) length));
      return header.path("__metadata__");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + path, e);
    }
  }
}
