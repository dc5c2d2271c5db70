package io.github.neuronexplainer.conformance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.models.autoencoder.AutoencoderConfig;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A conformance pack: a folder with {@code data/} (the tiny model, its SAEs) and {@code golden/}
 * (the original's outputs), made by {@code ../shared/conformance/harness} for a model of any shape.
 * Everything a test needs to know about the model (layers, prompts, SAE files, traced latents) is
 * read from the pack's manifest, never assumed.
 *
 * <p>The packs under test are named by the system property {@code conformance.dir}: one folder or
 * several separated by commas; by default the two in-repo packs.
 */
public final class Pack {
  public static final ObjectMapper JSON =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  /** The in-repo packs, relative to a module folder (where Maven runs the tests). */
  private static final String IN_REPO_PACKS = "../fixtures/tiny,../fixtures/l4-h3-d12";

  private static final List<Pack> ALL = load();

  private final Path root;
  private final JsonNode manifest;

  /** One prompt of the manifest, with the loss's target and distractor tokens. */
  public record Prompt(String id, String text, int[] tokens, int targetToken, int distractorToken) {
    public int lastToken() {
      return tokens.length - 1;
    }
  }

  /** One SAE family of the manifest (e.g. {@code mlp}): its input and per layer the .pt path. */
  public record AutoencoderFamily(
      String key, ActivationLocationType input, Map<Integer, String> ptPaths) {
    /** Per layer the safetensors twin of the .pt file (every pack has the twins). */
    public AutoencoderConfig safetensorsConfig() {
      Map<Integer, String> paths = new TreeMap<>();
      ptPaths.forEach((layer, pt) -> paths.put(layer, safetensorsTwin(pt)));
      return new AutoencoderConfig(input, paths);
    }
  }

  private Pack(Path root) {
    this.root = root;
    this.manifest = readJson(root.resolve("golden/manifest.json"));
  }

  /** Every pack under test. */
  public static List<Pack> all() {
    return ALL;
  }

  private static List<Pack> load() {
    String configured = System.getProperty("conformance.dir", "");
    String dirs = configured.isBlank() ? IN_REPO_PACKS : configured;
    List<Pack> packs = new ArrayList<>();
    for (String dir : dirs.split(",")) {
      Path root = Path.of(dir.trim());
      if (!Files.isRegularFile(root.resolve("golden/manifest.json"))) {
        throw new IllegalStateException(
            "No conformance pack at "
                + root.toAbsolutePath()
                + " (expected golden/manifest.json and data/); set -Dconformance.dir to pack folders"
                + " separated by commas");
      }
      packs.add(new Pack(root));
    }
    return List.copyOf(packs);
  }

  public static String safetensorsTwin(String ptPath) {
    return ptPath.substring(0, ptPath.length() - ".pt".length()) + ".safetensors";
  }

  public Path root() {
    return root;
  }

  public JsonNode manifest() {
    return manifest;
  }

  public int nLayers() {
    return manifest.path("model").path("config").path("n_layers").asInt();
  }

  /** The layer the harness's trace, edge and latent scenarios use. */
  public int lastLayer() {
    return nLayers() - 1;
  }

  public Path data(String relative) {
    return root.resolve("data").resolve(relative);
  }

  public Path golden(String relative) {
    return root.resolve("golden").resolve(relative);
  }

  public boolean hasGolden(String relative) {
    return Files.exists(golden(relative));
  }

  public JsonNode json(String goldenRelative) {
    return readJson(golden(goldenRelative));
  }

  /** The HF-layout model folder every pack has. */
  public Path hfModelDir() {
    return data(manifest.path("model").path("path").asText() + "-hf");
  }

  /** The model folders of the pack that exist: the original's layout and/or the HF copy. */
  public List<Path> modelDirs() {
    String path = manifest.path("model").path("path").asText();
    List<Path> dirs = new ArrayList<>();
    for (String candidate : List.of(path, path + "-hf")) {
      if (Files.isRegularFile(data(candidate).resolve("config.json"))) {
        dirs.add(data(candidate));
      }
    }
    return dirs;
  }

  public List<Prompt> prompts() {
    List<Prompt> prompts = new ArrayList<>();
    for (JsonNode p : manifest.path("prompts")) {
      int[] tokens = new int[p.path("tokens").size()];
      Arrays.setAll(tokens, i -> p.path("tokens").get(i).asInt());
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

  public Prompt prompt(String id) {
    return prompts().stream()
        .filter(p -> p.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("No prompt " + id + " in " + this));
  }

  /** The SAE families by manifest key ({@code mlp}, {@code attn}, {@code resid_mlp}). */
  public Map<String, AutoencoderFamily> autoencoderFamilies() {
    Map<String, AutoencoderFamily> families = new LinkedHashMap<>();
    manifest
        .path("autoencoders")
        .fields()
        .forEachRemaining(
            e -> {
              Map<Integer, String> paths = new TreeMap<>();
              e.getValue()
                  .path("paths_by_layer")
                  .fields()
                  .forEachRemaining(
                      p -> paths.put(LayerIndex.parse(p.getKey()), p.getValue().asText()));
              families.put(
                  e.getKey(),
                  new AutoencoderFamily(
                      e.getKey(),
                      ActivationLocationType.valueOf(e.getValue().path("input_dst").asText()),
                      paths));
            });
    return families;
  }

  /**
   * The family's config over its .pt files where the pack has them (full packs), else the
   * safetensors twins.
   */
  public AutoencoderConfig preferredConfig(AutoencoderFamily family) {
    Map<Integer, String> paths = new TreeMap<>();
    family
        .ptPaths()
        .forEach(
            (layer, pt) -> paths.put(layer, Files.exists(data(pt)) ? pt : safetensorsTwin(pt)));
    return new AutoencoderConfig(family.input(), paths);
  }

  public AutoencoderFamily autoencoderFamily(String key) {
    AutoencoderFamily family = autoencoderFamilies().get(key);
    if (family == null) {
      throw new IllegalArgumentException(
          "The manifest of " + this + " has no autoencoder family " + key);
    }
    return family;
  }

  /**
   * The latent the latent-trace scenarios traced for a prompt and SAE family ({@code mlp}, {@code
   * attn}).
   */
  public int tracedLatent(String promptId, String family) {
    return manifest.path("traced_latents").path(promptId).path(family).asInt();
  }

  /** The tensors of a golden safetensors file, read with the shipped reader. */
  public Map<String, HostTensor> tensors(String goldenRelative) {
    return SafetensorsFile.read(golden(goldenRelative)).tensors();
  }

  /** As {@link #tensors}, as arrays of {@code manager}. */
  public Map<String, NDArray> arrays(String goldenRelative, NDManager manager) {
    Map<String, NDArray> arrays = new LinkedHashMap<>();
    tensors(goldenRelative).forEach((name, t) -> arrays.put(name, t.toNDArray(manager)));
    return arrays;
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
  }

  /**
   * The folder name and shape, e.g. {@code l4-h3-d24 (4 layers, d_model 24)}: names parameterized
   * tests.
   */
  @Override
  public String toString() {
    JsonNode config = manifest.path("model").path("config");
    return root.normalize().getFileName()
        + " ("
        + config.path("n_layers").asInt()
        + " layers, "
        + config.path("n_heads").asInt()
        + " heads, d_model "
        + config.path("d_model").asInt()
        + ")";
  }
}
