package io.github.neuronexplainer.models.autoencoder;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Which autoencoders to load: the activation they read (the original's input DST; only raw
 * activations are supported, as in the original's {@code AutoencoderHookGraph}) and a file per
 * layer (the original's {@code AutoencoderConfig}). A path is a local file ({@code .pt} or {@code
 * .safetensors}; relative paths are resolved by the context) or an {@code http(s)} URL, downloaded
 * once into the disk cache.
 *
 * <p>Immutable and thread-safe.
 *
 * @param inputLocation the activation the autoencoders were trained on and read
 * @param pathByLayer file per layer; a single {@link LayerIndex#NONE} key for a layer-less input
 */
public record AutoencoderConfig(
    ActivationLocationType inputLocation, Map<Integer, String> pathByLayer) {
  public AutoencoderConfig {
    Objects.requireNonNull(inputLocation, "inputLocation");
    if (pathByLayer == null || pathByLayer.isEmpty()) {
      throw new IllegalArgumentException(
          "An autoencoder config needs at least one layer → path entry");
    }
    if (pathByLayer.size() > 1 && pathByLayer.containsKey(LayerIndex.NONE)) {
      throw new IllegalArgumentException(
          "Layer indices must be either [NONE] or a list of layer indices, got "
              + pathByLayer.keySet());
    }
    TreeMap<Integer, String> copy = new TreeMap<>();
    pathByLayer.forEach(
        (layer, path) -> {
          if (layer == null || (layer < 0 && layer != LayerIndex.NONE)) {
            throw new IllegalArgumentException(
                "Bad layer index " + layer + " in autoencoder config");
          }
          if (path == null || path.isBlank()) {
            throw new IllegalArgumentException("Empty autoencoder path for layer " + layer);
          }
          copy.put(layer, path);
        });
    pathByLayer = Collections.unmodifiableMap(copy);
  }

  /** The same file pattern for layers {@code 0..nLayers-1}: {@code "{layer}"} is replaced. */
  public static AutoencoderConfig forLayers(
      ActivationLocationType inputLocation, String pathPattern, int nLayers) {
    if (!pathPattern.contains("{layer}")) {
      throw new IllegalArgumentException(
          "The path pattern must contain {layer}, got '" + pathPattern + "'");
    }
    Map<Integer, String> paths = new TreeMap<>();
    for (int layer = 0; layer < nLayers; layer++) {
      paths.put(layer, pathPattern.replace("{layer}", Integer.toString(layer)));
    }
    return new AutoencoderConfig(inputLocation, paths);
  }

  /**
   * The node type of the latents, from the input (the original's {@code
   * _autoencoder_node_type_by_input_dst}): MLP_POST_ACT and RESID_DELTA_MLP give {@link
   * NodeType#MLP_AUTOENCODER_LATENT}, RESID_DELTA_ATTN gives {@link
   * NodeType#ATTENTION_AUTOENCODER_LATENT}; any other input the generic {@link
   * NodeType#AUTOENCODER_LATENT}.
   */
  public NodeType nodeType() {
    return inputLocation.autoencoderLatentNodeType();
  }
}
