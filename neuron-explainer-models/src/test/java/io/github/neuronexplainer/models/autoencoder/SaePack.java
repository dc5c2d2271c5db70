package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.models.TestPack;
import java.nio.file.Files;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/** The SAE families of a conformance pack ({@code golden/manifest.json → autoencoders}). */
final class SaePack {
  /** One family: its manifest key, input, and per layer the file paths relative to data/. */
  record Family(
      String key, ActivationLocationType input, int nLatents, Map<Integer, String> ptPaths) {
    /** Per layer the .pt file if the pack has it, else its safetensors twin. */
    AutoencoderConfig config(TestPack pack) {
      Map<Integer, String> paths = new TreeMap<>();
      ptPaths.forEach((layer, pt) -> paths.put(layer, Files.exists(pack.data(pt)) ? pt : twin(pt)));
      return new AutoencoderConfig(input, paths);
    }

    /** Per layer the safetensors twin. */
    AutoencoderConfig safetensorsConfig() {
      Map<Integer, String> paths = new TreeMap<>();
      ptPaths.forEach((layer, pt) -> paths.put(layer, twin(pt)));
      return new AutoencoderConfig(input, paths);
    }

    LazyAutoencoderContext context(TestPack pack, AutoencoderConfig config, NDManager m) {
      return LazyAutoencoderContext.builder(config).baseDir(pack.data("")).build(m);
    }
  }

  private SaePack() {}

  static String twin(String ptPath) {
    return ptPath.substring(0, ptPath.length() - ".pt".length()) + ".safetensors";
  }

  static Map<String, Family> families(TestPack pack) {
    Map<String, Family> families = new LinkedHashMap<>();
    JsonNode node = pack.manifest().path("autoencoders");
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      Map<Integer, String> paths = new TreeMap<>();
      e.getValue()
          .path("paths_by_layer")
          .fields()
          .forEachRemaining(p -> paths.put(LayerIndex.parse(p.getKey()), p.getValue().asText()));
      families.put(
          e.getKey(),
          new Family(
              e.getKey(),
              ActivationLocationType.valueOf(e.getValue().path("input_dst").asText()),
              e.getValue().path("n_latents").asInt(),
              paths));
    }
    if (families.isEmpty()) {
      throw new IllegalStateException("The pack's manifest lists no autoencoders");
    }
    return families;
  }
}
