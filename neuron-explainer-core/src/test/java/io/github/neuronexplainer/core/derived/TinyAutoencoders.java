package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Test-scope autoencoders read from {@code tiny-sae/<kind>/<layer>.safetensors}. */
public final class TinyAutoencoders {
  private TinyAutoencoders() {}

  /** ReLU or TopK(k, ReLU) autoencoder; see the original's models/autoencoder.py. */
  public static final class Sae implements SparseAutoencoder {
    private final NDArray preBias;
    private final NDArray encoder;
    private final NDArray latentBias;
    private final NDArray decoder;
    private final int topK;

    Sae(Path file, NDManager manager) {
      Map<String, NDArray> t = ConformancePack.readSafetensors(file, manager);
      this.preBias = t.get("pre_bias");
      this.encoder = t.get("encoder.weight");
      this.latentBias = t.get("latent_bias");
      this.decoder = t.get("decoder.weight");
      JsonNode metadata = ConformancePack.safetensorsMetadata(file);
      String activation = metadata.path("activation").asText("ReLU");
      if (activation.equals("TopK")) {
        JsonNode state = readState(metadata.path("activation_state_dict").asText());
        this.topK = state.get("k").asInt();
      } else if (activation.equals("ReLU")) {
        this.topK = 0;
      } else {
        throw new IllegalArgumentException("Unsupported activation " + activation + " in " + file);
      }
    }

    private static JsonNode readState(String json) {
      try {
        return ConformancePack.JSON.readTree(json);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public int nInputs() {
      return (int) encoder.getShape().get(1);
    }

    @Override
    public int nLatents() {
      return (int) encoder.getShape().get(0);
    }

    @Override
    public NDArray encodePreActivation(NDArray x) {
      return x.sub(preBias).matMul(encoder.transpose()).add(latentBias);
    }

    @Override
    public NDArray encode(NDArray x) {
      return activation(encodePreActivation(x));
    }

    @Override
    public NDArray decode(NDArray latents) {
      return latents.matMul(decoder.transpose()).add(preBias);
    }

    @Override
    public NDArray activation(NDArray preActivation) {
      NDArray relu = preActivation.maximum(0f);
      if (topK == 0) {
        return relu;
      }
      NDArray kth = preActivation.topK(topK, -1, true, true).get(0).get("..., " + (topK - 1) + ":" + topK);
      return relu.mul(preActivation.gte(kth));
    }

    @Override
    public NDArray encoderWeight(NDManager manager) {
      return copy(encoder, manager);
    }

    @Override
    public NDArray decoderWeight(NDManager manager) {
      return copy(decoder, manager);
    }

    @Override
    public NDArray preBias(NDManager manager) {
      return copy(preBias, manager);
    }

    @Override
    public NDArray latentBias(NDManager manager) {
      return copy(latentBias, manager);
    }

    private static NDArray copy(NDArray source, NDManager manager) {
      NDArray c = source.duplicate();
      c.attach(manager);
      return c;
    }
  }

  /** All layers of one SAE kind directory, e.g. {@code mlp_post_act}. */
  public static final class Context implements AutoencoderContext {
    private final ActivationLocationType input;
    private final Map<Integer, Sae> byLayer = new TreeMap<>();

    public Context(String kind, NDManager manager) {
      this.input = ActivationLocationType.valueOf(kind.toUpperCase(java.util.Locale.ROOT));
      Path dir = ConformancePack.saeDir().resolve(kind);
      try (Stream<Path> files = Files.list(dir)) {
        for (Path file : files.filter(f -> f.toString().endsWith(".safetensors")).toList()) {
          String name = file.getFileName().toString();
          int layer = Integer.parseInt(name.substring(0, name.indexOf('.')));
          byLayer.put(layer, new Sae(file, manager));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public ActivationLocationType inputLocation() {
      return input;
    }

    @Override
    public NodeType nodeType() {
      return switch (input) {
        case MLP_POST_ACT, RESID_DELTA_MLP -> NodeType.MLP_AUTOENCODER_LATENT;
        case RESID_DELTA_ATTN -> NodeType.ATTENTION_AUTOENCODER_LATENT;
        default -> NodeType.AUTOENCODER_LATENT;
      };
    }

    @Override
    public List<Integer> layers() {
      return new ArrayList<>(byLayer.keySet());
    }

    @Override
    public SparseAutoencoder autoencoder(int layer) {
      Sae sae = byLayer.get(layer);
      if (sae == null) {
        throw new IllegalArgumentException("No autoencoder for layer " + layer);
      }
      return sae;
    }

    @Override
    public int numAutoencoderDirections() {
      return byLayer.values().iterator().next().nLatents();
    }
  }
}
