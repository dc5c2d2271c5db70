package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.nio.file.Path;
import java.util.Map;

/**
 * Test-scope model context over an HF GPT-2 {@code model.safetensors} (Conv1D weights are [in,
 * out], {@code c_attn} columns are [q | k | v], the unembedding is tied to {@code wte}). Weights are
 * returned as copies in the caller's manager. Not thread-safe for concurrent close.
 */
public final class SafetensorsGpt2ModelContext implements ModelContext, AutoCloseable {
  private final NDManager manager;
  private final Map<String, NDArray> tensors;
  private final int nLayers;
  private final int nHeads;
  private final int dModel;
  private final int dMlp;
  private final int nVocab;
  private final int nContext;
  private final double layerNormEpsilon;

  SafetensorsGpt2ModelContext(Path dir, NDManager parent) {
    this.manager = parent.newSubManager();
    this.tensors = ConformancePack.readSafetensors(dir.resolve("model.safetensors"), manager);
    JsonNode config = ConformancePack.readJson(dir.resolve("config.json"));
    this.nLayers = config.get("n_layer").asInt();
    this.nHeads = config.get("n_head").asInt();
    NDArray wte = tensor("wte.weight");
    this.nVocab = (int) wte.getShape().get(0);
    this.dModel = (int) wte.getShape().get(1);
    this.dMlp = (int) tensor("h.0.mlp.c_fc.weight").getShape().get(1);
    this.nContext = (int) tensor("wpe.weight").getShape().get(0);
    // HF's GPT2Config default, which GPT-2 checkpoints rely on when the key is absent.
    this.layerNormEpsilon =
        config.has("layer_norm_epsilon") ? config.get("layer_norm_epsilon").asDouble() : 1e-5;
  }

  private NDArray tensor(String name) {
    NDArray t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("model.safetensors has no " + name);
    }
    return t;
  }

  /** A raw HF tensor (e.g. biases), copied into {@code target}. */
  NDArray hfTensor(String name, NDManager target) {
    NDArray copy = tensor(name).duplicate();
    copy.attach(target);
    return copy;
  }

  @Override
  public String modelName() {
    return "tiny-gpt2-hf";
  }

  @Override
  public int dimensionSize(Dimension dimension) {
    return switch (dimension) {
      case RESIDUAL_STREAM_CHANNELS -> dModel;
      case ATTN_HEADS -> nHeads;
      case QUERY_AND_KEY_CHANNELS, VALUE_CHANNELS -> dModel / nHeads;
      case MLP_ACTS -> dMlp;
      case VOCAB_SIZE -> nVocab;
      case LAYERS -> nLayers;
      case MAX_CONTEXT_LENGTH -> nContext;
      case SINGLETON -> 1;
      default -> throw new UnsupportedOperationException("No model size for " + dimension);
    };
  }

  @Override
  public NDArray getWeight(WeightLocationType location, int layer, NDManager target) {
    if (location.hasNoLayers() != (layer == LayerIndex.NONE)) {
      throw new IllegalArgumentException(location + " with layer " + layer);
    }
    if (!location.hasNoLayers() && (layer < 0 || layer >= nLayers)) {
      throw new IllegalArgumentException("Layer " + layer + " out of range for " + nLayers);
    }
    String h = "h." + layer + ".";
    int headDim = dModel / nHeads;
    NDArray copy;
    try (NDScope scope = new NDScope()) {
      NDArray w =
        switch (location) {
          case MLP_TO_HIDDEN -> tensor(h + "mlp.c_fc.weight");
          case MLP_TO_RESIDUAL -> tensor(h + "mlp.c_proj.weight");
          case EMBEDDING -> tensor("wte.weight");
          case UNEMBEDDING -> tensor("wte.weight").transpose();
          case POSITION_EMBEDDING -> tensor("wpe.weight");
          case ATTN_TO_QUERY, ATTN_TO_KEY, ATTN_TO_VALUE -> {
            NDArray columns =
                tensor(h + "attn.c_attn.weight").get(new NDIndex(":, " + qkvColumns(location)));
            yield columns.reshape(dModel, nHeads, headDim).transpose(1, 0, 2);
          }
          case ATTN_TO_QUERY_BIAS, ATTN_TO_KEY_BIAS, ATTN_TO_VALUE_BIAS -> tensor(
                  h + "attn.c_attn.bias")
              .get(new NDIndex(qkvColumns(location)))
              .reshape(nHeads, headDim);
          case ATTN_TO_RESIDUAL_BIAS -> tensor(h + "attn.c_proj.bias");
          case MLP_TO_HIDDEN_BIAS -> tensor(h + "mlp.c_fc.bias");
          case MLP_TO_RESIDUAL_BIAS -> tensor(h + "mlp.c_proj.bias");
          case LAYER_NORM_BIAS_PRE_ATTN -> tensor(h + "ln_1.bias");
          case LAYER_NORM_BIAS_PRE_MLP -> tensor(h + "ln_2.bias");
          case ATTN_TO_RESIDUAL -> tensor(h + "attn.c_proj.weight").reshape(nHeads, headDim, dModel);
          case LAYER_NORM_GAIN_FINAL -> tensor("ln_f.weight");
          case LAYER_NORM_BIAS_FINAL -> tensor("ln_f.bias");
          case LAYER_NORM_GAIN_PRE_ATTN -> tensor(h + "ln_1.weight");
          case LAYER_NORM_GAIN_PRE_MLP -> tensor(h + "ln_2.weight");
        };
      copy = w.duplicate();
      NDScope.unregister(copy);
    }
    NDScope.register(copy);
    copy.attach(target);
    return copy;
  }

  /** The columns of {@code c_attn} ([q | k | v], d_model each) that hold the weight's part. */
  private String qkvColumns(WeightLocationType location) {
    int part =
        switch (location) {
          case ATTN_TO_QUERY, ATTN_TO_QUERY_BIAS -> 0;
          case ATTN_TO_KEY, ATTN_TO_KEY_BIAS -> 1;
          default -> 2;
        };
    return part * dModel + ":" + (part + 1) * dModel;
  }

  @Override
  public double layerNormEpsilon() {
    return layerNormEpsilon;
  }

  @Override
  public int[] encode(String text) {
    throw new UnsupportedOperationException("The test model context has no tokenizer");
  }

  @Override
  public String decodeToken(int token) {
    throw new UnsupportedOperationException("The test model context has no tokenizer");
  }

  @Override
  public String decode(int[] tokens) {
    throw new UnsupportedOperationException("The test model context has no tokenizer");
  }

  @Override
  public void close() {
    manager.close();
  }
}
