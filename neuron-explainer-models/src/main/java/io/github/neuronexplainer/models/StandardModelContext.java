package io.github.neuronexplainer.models;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import io.github.neuronexplainer.models.weights.DownloadProgress;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import io.github.neuronexplainer.models.weights.ModelRegistry;
import java.util.function.Supplier;

/**
 * A GPT-2 loaded from a name ({@code gpt2-small}…{@code gpt2-xl}), a local checkpoint folder or an
 * URL, with its tokenizer and weights in the standard shapes (the original's {@code
 * StandardModelContext}). The model is loaded on first use and kept until {@link #close()}.
 *
 * <pre>{@code
 * try (StandardModelContext context = StandardModelContext.load("gpt2-small")) {
 *   Transformer model = context.getOrCreateModel();
 *   int paris = context.encodeTokenString(" Paris");
 * }
 * }</pre>
 *
 * <p>The weights go to {@link Device#cpu()} unless a device is given; pass managers on the same
 * device ({@code NDManager.newBaseManager(context.device())}) to the model's passes.
 *
 * <p>Thread-safe: loading is synchronized, weights are read-only.
 */
public final class StandardModelContext implements ModelContext, AutoCloseable {
  private final String modelName;
  private final Supplier<Gpt2Checkpoint> checkpointLoader;
  private final NDManager manager;
  private final Gpt2Tokenizer tokenizer = Gpt2Tokenizer.instance();
  private volatile Transformer model;
  private volatile TransformerConfig config;

  private StandardModelContext(
      String modelName, Supplier<Gpt2Checkpoint> checkpointLoader, Device device) {
    this.modelName = modelName;
    this.checkpointLoader = checkpointLoader;
    this.manager = NDManager.newBaseManager(Devices.requireAvailable(device));
  }

  /**
   * A context for a known model name, a checkpoint folder, or an http(s) URL of one; weights are
   * downloaded (into the cache) and loaded on first use.
   */
  public static StandardModelContext load(String nameOrPathOrUrl) {
    return load(nameOrPathOrUrl, DownloadProgress.none());
  }

  /** As {@link #load(String)}, reporting download progress. */
  public static StandardModelContext load(String nameOrPathOrUrl, DownloadProgress progress) {
    return load(nameOrPathOrUrl, progress, Device.cpu());
  }

  /**
   * As {@link #load(String)}, with the weights on {@code device}.
   *
   * @throws IllegalArgumentException if the device is not available (see {@link
   *     Devices#requireAvailable})
   */
  public static StandardModelContext load(String nameOrPathOrUrl, Device device) {
    return load(nameOrPathOrUrl, DownloadProgress.none(), device);
  }

  /** As {@link #load(String, Device)}, reporting download progress. */
  public static StandardModelContext load(
      String nameOrPathOrUrl, DownloadProgress progress, Device device) {
    return new StandardModelContext(
        nameOrPathOrUrl, () -> ModelRegistry.load(nameOrPathOrUrl, progress), device);
  }

  /** A context over an already loaded checkpoint, on the CPU. */
  public static StandardModelContext of(String name, Gpt2Checkpoint checkpoint) {
    return new StandardModelContext(name, () -> checkpoint, Device.cpu());
  }

  /** The device the weights are (or will be) loaded on. */
  public Device device() {
    return manager.getDevice();
  }

  @Override
  public String modelName() {
    return modelName;
  }

  @Override
  public String toString() {
    TransformerConfig c = config;
    return "StandardModelContext["
        + modelName
        + " on "
        + device()
        + (c == null ? ", not loaded yet]" : ", " + c + "]");
  }

  /** The model, loading it on the first call. */
  public Transformer getOrCreateModel() {
    Transformer m = model;
    if (m == null) {
      synchronized (this) {
        if (model == null) {
          Gpt2Checkpoint checkpoint = checkpointLoader.get();
          model = Transformer.fromCheckpoint(checkpoint, manager);
          config = checkpoint.config();
        }
        m = model;
      }
    }
    return m;
  }

  public TransformerConfig config() {
    getOrCreateModel();
    return config;
  }

  public Gpt2Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public int dimensionSize(Dimension dimension) {
    TransformerConfig c = config();
    return switch (dimension) {
      case MAX_CONTEXT_LENGTH -> c.ctxWindow();
      case RESIDUAL_STREAM_CHANNELS -> c.dModel();
      case VOCAB_SIZE -> c.nVocab();
      case ATTN_HEADS -> c.nHeads();
      case QUERY_AND_KEY_CHANNELS -> c.dAttnQk() / c.nHeads();
      case VALUE_CHANNELS -> c.dAttnV() / c.nHeads();
      case MLP_ACTS -> c.dFf();
      case LAYERS -> c.nLayers();
      case SINGLETON -> 1;
      default ->
          throw new UnsupportedOperationException(
              dimension + " is not a model dimension (it depends on the input or on autoencoders)");
    };
  }

  @Override
  public NDArray getWeight(WeightLocationType location, int layer, NDManager caller) {
    Transformer m = getOrCreateModel();
    TransformerConfig c = config;
    if (location.hasNoLayers() != (layer == LayerIndex.NONE)) {
      throw new IllegalArgumentException(
          location.hasNoLayers()
              ? location + " has no layers; pass LayerIndex.NONE, not " + layer
              : location + " needs a layer index in [0, " + c.nLayers() + ")");
    }
    if (!location.hasNoLayers() && (layer < 0 || layer >= c.nLayers())) {
      throw new IllegalArgumentException(
          "Layer " + layer + " is out of range for a model with " + c.nLayers() + " layers");
    }
    String p = "xf_layers." + layer + ".";
    int h = c.nHeads();
    NDArray view =
        switch (location) {
          case MLP_TO_HIDDEN -> m.parameter(p + "mlp.in_layer.weight").transpose();
          case MLP_TO_RESIDUAL -> m.parameter(p + "mlp.out_layer.weight").transpose();
          case EMBEDDING -> m.parameter("tok_embed.weight").reshape(c.nVocab(), c.dModel());
          case UNEMBEDDING -> m.parameter("unembed.weight").transpose();
          case POSITION_EMBEDDING ->
              m.parameter("pos_embed.weight").reshape(c.ctxWindow(), c.dModel());
          case ATTN_TO_QUERY -> headsFirst(m.parameter(p + "attn.q_proj.weight"), h);
          case ATTN_TO_KEY -> headsFirst(m.parameter(p + "attn.k_proj.weight"), h);
          case ATTN_TO_VALUE -> headsFirst(m.parameter(p + "attn.v_proj.weight"), h);
          case ATTN_TO_RESIDUAL ->
              m.parameter(p + "attn.out_proj.weight").reshape(c.dModel(), h, -1).transpose(1, 2, 0);
          case LAYER_NORM_GAIN_FINAL -> m.parameter("final_ln.weight").reshape(c.dModel());
          case LAYER_NORM_BIAS_FINAL -> m.parameter("final_ln.bias").reshape(c.dModel());
          case LAYER_NORM_GAIN_PRE_ATTN -> m.parameter(p + "ln_1.weight").reshape(c.dModel());
          case LAYER_NORM_GAIN_PRE_MLP -> m.parameter(p + "ln_2.weight").reshape(c.dModel());
          case LAYER_NORM_BIAS_PRE_ATTN -> m.parameter(p + "ln_1.bias").reshape(c.dModel());
          case LAYER_NORM_BIAS_PRE_MLP -> m.parameter(p + "ln_2.bias").reshape(c.dModel());
          case MLP_TO_HIDDEN_BIAS -> m.parameter(p + "mlp.in_layer.bias").reshape(c.dFf());
          case MLP_TO_RESIDUAL_BIAS -> m.parameter(p + "mlp.out_layer.bias").reshape(c.dModel());
          case ATTN_TO_QUERY_BIAS -> m.parameter(p + "attn.q_proj.bias").reshape(h, -1);
          case ATTN_TO_KEY_BIAS -> m.parameter(p + "attn.k_proj.bias").reshape(h, -1);
          case ATTN_TO_VALUE_BIAS -> m.parameter(p + "attn.v_proj.bias").reshape(h, -1);
          case ATTN_TO_RESIDUAL_BIAS -> m.parameter(p + "attn.out_proj.bias").reshape(c.dModel());
        };
    // The view shares the parameter's storage but is a handle of its own: hand it to the caller.
    view.attach(caller);
    return view;
  }

  /** [h·d_head, d] (nn.Linear, split by head) → [h, d, d_head]. */
  private static NDArray headsFirst(NDArray weight, int heads) {
    long d = weight.getShape().get(1);
    return weight.reshape(heads, -1, d).transpose(0, 2, 1);
  }

  @Override
  public double layerNormEpsilon() {
    return config().layerNormEpsilon();
  }

  @Override
  public int[] encode(String text) {
    return tokenizer.encode(text);
  }

  @Override
  public String decodeToken(int token) {
    return tokenizer.decodeToken(token);
  }

  @Override
  public String decode(int[] tokens) {
    return tokenizer.decode(tokens);
  }

  @Override
  public void close() {
    manager.close();
  }
}
