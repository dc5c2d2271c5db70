package io.github.neuronexplainer.models.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A GPT-2 whose parameters are autograd leaves, kept in HuggingFace's names and layouts ({@code
 * wte.weight}, {@code h.0.attn.c_attn.weight} as Conv1D {@code [in, out]}, ...; the unembedding
 * tied to {@code wte}), so a checkpoint is the parameters written as they are. The forward pass
 * computes what {@link io.github.neuronexplainer.models.Transformer} computes (pre-norm blocks,
 * fp32 layer norm, queries and keys each scaled by {@code d_head^-1/4}, tanh GELU), without hooks.
 *
 * <p>Memory: the parameters live in this object's manager until {@link #close()}. A forward pass
 * allocates in the manager given to it; run each step in its own sub-manager (and {@link
 * ai.djl.ndarray.NDScope}) so memory stays flat.
 *
 * <p>Thread-safety: not thread-safe; one training loop owns it.
 */
public final class TrainableGpt2 implements AutoCloseable {
  /** The model file inside a checkpoint folder, as HuggingFace names it. */
  public static final String MODEL_FILE = "model.safetensors";

  /** The HuggingFace config inside a checkpoint folder. */
  public static final String CONFIG_FILE = "config.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final TransformerConfig config;
  private final NDManager manager;
  private final Map<String, NDArray> parameters;

  private TrainableGpt2(
      TransformerConfig config, Map<String, NDArray> parameters, NDManager manager) {
    this.config = config;
    this.manager = manager;
    this.parameters = parameters;
    for (NDArray p : parameters.values()) {
      p.setRequiresGradient(true);
    }
  }

  /**
   * A freshly initialised model, as GPT-2 initialises one: weights N(0, 0.02), the two output
   * projections of each block N(0, 0.02/√(2·layers)), biases 0, layer-norm gains 1.
   *
   * <p>With {@code usedTokens}, the embedding rows of every other token are zero: such tokens never
   * occur as inputs and their logits are exactly 0, so {@link #loss} can compute the
   * full-vocabulary loss from the used tokens' logits alone (see there).
   *
   * @param config its shape; {@code mAttn} must be 1 (q, k, v and output all {@code d_model} wide)
   * @param usedTokens the token ids the corpus contains, ascending, or null for all
   */
  public static TrainableGpt2 initialise(
      TransformerConfig config, long seed, int[] usedTokens, NDManager parent) {
    if (config.dAttnQk() != config.dModel() || config.dAttnV() != config.dModel()) {
      throw new IllegalArgumentException(
          "Training supports GPT-2's layout only (mAttn = 1); got " + config);
    }
    Random random = new Random(seed);
    NDManager manager = parent.newSubManager();
    double residualStd = 0.02 / Math.sqrt(2.0 * config.nLayers());
    Map<String, NDArray> p = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : parameterShapes(config).entrySet()) {
      String name = e.getKey();
      Shape shape = new Shape(e.getValue());
      NDArray value;
      if (name.endsWith(".bias")) {
        value = manager.zeros(shape);
      } else if (name.startsWith("ln_f") || name.contains(".ln_")) {
        value = manager.ones(shape);
      } else if (name.endsWith("c_proj.weight")) {
        value = normal(manager, random, residualStd, shape);
      } else if (name.equals("wpe.weight")) {
        value = normal(manager, random, 0.01, shape);
      } else {
        value = normal(manager, random, 0.02, shape);
      }
      p.put(name, value);
    }
    if (usedTokens != null) {
      NDArray wte = p.get("wte.weight");
      NDArray keep = usedTokenMask(usedTokens, config.nVocab(), manager);
      p.put("wte.weight", wte.mul(keep.reshape(-1, 1)));
      wte.close();
      keep.close();
    }
    return new TrainableGpt2(config, p, manager);
  }

  /**
   * Loads a model saved with {@link #save} (fp32 or fp16) to continue training it.
   *
   * @throws IllegalArgumentException if a parameter is missing or has another shape than the
   *     folder's config implies
   */
  public static TrainableGpt2 load(Path folder, NDManager parent) {
    TransformerConfig config = TransformerConfig.fromHuggingFaceJson(folder.resolve(CONFIG_FILE));
    Map<String, HostTensor> stored = SafetensorsFile.read(folder.resolve(MODEL_FILE)).tensors();
    NDManager manager = parent.newSubManager();
    Map<String, NDArray> p = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : parameterShapes(config).entrySet()) {
      HostTensor t = stored.get(e.getKey());
      if (t == null) {
        throw new IllegalArgumentException(
            folder.resolve(MODEL_FILE)
                + " has no tensor '"
                + e.getKey()
                + "'; it is not a checkpoint of this trainer");
      }
      if (!Arrays.equals(t.shape(), e.getValue())) {
        throw new IllegalArgumentException(
            folder.resolve(MODEL_FILE)
                + ": '"
                + e.getKey()
                + "' has shape "
                + Arrays.toString(t.shape())
                + " but the config needs "
                + Arrays.toString(e.getValue()));
      }
      p.put(e.getKey(), t.toFloat32().toNDArray(manager));
    }
    return new TrainableGpt2(config, p, manager);
  }

  private static NDArray usedTokenMask(int[] usedTokens, int nVocab, NDManager manager) {
    float[] keep = new float[nVocab];
    for (int t : usedTokens) {
      keep[t] = 1;
    }
    return manager.create(keep);
  }

  /** Every parameter's HuggingFace name and shape, in checkpoint order. */
  static Map<String, long[]> parameterShapes(TransformerConfig config) {
    long d = config.dModel();
    long ff = config.dFf();
    Map<String, long[]> shapes = new LinkedHashMap<>();
    shapes.put("wte.weight", new long[] {config.nVocab(), d});
    shapes.put("wpe.weight", new long[] {config.ctxWindow(), d});
    for (int i = 0; i < config.nLayers(); i++) {
      String h = "h." + i + ".";
      shapes.put(h + "ln_1.weight", new long[] {d});
      shapes.put(h + "ln_1.bias", new long[] {d});
      shapes.put(h + "attn.c_attn.weight", new long[] {d, 3 * d});
      shapes.put(h + "attn.c_attn.bias", new long[] {3 * d});
      shapes.put(h + "attn.c_proj.weight", new long[] {d, d});
      shapes.put(h + "attn.c_proj.bias", new long[] {d});
      shapes.put(h + "ln_2.weight", new long[] {d});
      shapes.put(h + "ln_2.bias", new long[] {d});
      shapes.put(h + "mlp.c_fc.weight", new long[] {d, ff});
      shapes.put(h + "mlp.c_fc.bias", new long[] {ff});
      shapes.put(h + "mlp.c_proj.weight", new long[] {ff, d});
      shapes.put(h + "mlp.c_proj.bias", new long[] {d});
    }
    shapes.put("ln_f.weight", new long[] {d});
    shapes.put("ln_f.bias", new long[] {d});
    return shapes;
  }

  private static NDArray normal(NDManager manager, Random random, double std, Shape shape) {
    float[] values = new float[Math.toIntExact(shape.size())];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * std);
    }
    return manager.create(values, shape);
  }

  public TransformerConfig config() {
    return config;
  }

  /** The parameters by HuggingFace name: the model's own arrays, read only. */
  public Map<String, NDArray> parameters() {
    return java.util.Collections.unmodifiableMap(parameters);
  }

  /** Names of the parameters that weight decay applies to: the matrices and the token embedding. */
  public Set<String> decayedParameterNames() {
    Set<String> names = new HashSet<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      if (e.getValue().getShape().dimension() == 2 && !e.getKey().equals("wpe.weight")) {
        names.add(e.getKey());
      }
    }
    return names;
  }

  /** Number of scalar parameters (the tied unembedding counted once). */
  public long parameterCount() {
    return parameters.values().stream().mapToLong(a -> a.getShape().size()).sum();
  }

  /**
   * Logits {@code [b, s, vocab]} for {@code tokens} {@code [b, s]} (int64, {@code s <= ctxWindow});
   * inside a gradient collector the result is differentiable in the parameters.
   */
  public NDArray logits(NDArray tokens, NDManager m) {
    return hidden(tokens, m).matMul(unembedding(m));
  }

  /** The residual stream after the final layer norm, {@code [b, s, d]}. */
  private NDArray hidden(NDArray tokens, NDManager m) {
    long batch = tokens.getShape().get(0);
    long seq = tokens.getShape().get(1);
    if (seq > config.ctxWindow()) {
      throw new IllegalArgumentException(
          "Windows of " + seq + " tokens exceed the context window of " + config.ctxWindow());
    }
    int d = config.dModel();
    int heads = config.nHeads();
    float eps = (float) config.layerNormEpsilon();
    NDArray x = p("wte.weight").get(m, new NDIndex("{}", tokens));
    x = x.add(p("wpe.weight").get(m, new NDIndex(":{}", seq)));
    NDArray mask = causalMask(seq, m);
    NDArray qkScale = m.create(TransformerMath.queryKeyScale(config.dHead()));
    for (int i = 0; i < config.nLayers(); i++) {
      String h = "h." + i + ".";
      NDArray a = TransformerMath.layerNorm(x, p(h + "ln_1.weight"), p(h + "ln_1.bias"), eps);
      NDArray qkv = a.matMul(p(h + "attn.c_attn.weight")).add(p(h + "attn.c_attn.bias"));
      NDArray q = heads(qkv.get(new NDIndex(":, :, :{}", d)), batch, seq, heads).mul(qkScale);
      NDArray k =
          heads(qkv.get(new NDIndex(":, :, {}:{}", d, 2 * d)), batch, seq, heads).mul(qkScale);
      NDArray v = heads(qkv.get(new NDIndex(":, :, {}:", 2 * d)), batch, seq, heads);
      NDArray probs = q.matMul(k.transpose(0, 1, 3, 2)).add(mask).softmax(-1); // [b, h, q, k]
      NDArray attended = probs.matMul(v).transpose(0, 2, 1, 3).reshape(batch, seq, d);
      x = x.add(attended.matMul(p(h + "attn.c_proj.weight")).add(p(h + "attn.c_proj.bias")));
      NDArray b = TransformerMath.layerNorm(x, p(h + "ln_2.weight"), p(h + "ln_2.bias"), eps);
      NDArray hidden =
          TransformerMath.gelu(b.matMul(p(h + "mlp.c_fc.weight")).add(p(h + "mlp.c_fc.bias")));
      x = x.add(hidden.matMul(p(h + "mlp.c_proj.weight")).add(p(h + "mlp.c_proj.bias")));
    }
    return TransformerMath.layerNorm(x, p("ln_f.weight"), p("ln_f.bias"), eps);
  }

  /** The tied unembedding {@code [d, vocab]}, a view attached to {@code m}. */
  private NDArray unembedding(NDManager m) {
    NDArray unembed = p("wte.weight").transpose();
    unembed.attach(m);
    return unembed;
  }

  /**
   * Mean next-token cross-entropy (nats) over windows of {@code length + 1} tokens: the model reads
   * tokens {@code [0, length)} of each row and predicts tokens {@code [1, length]}.
   *
   * <p>With {@code usedTokens} (ascending ids; every target must be one), the loss is still the
   * full-vocabulary cross-entropy, computed cheaply: the embedding rows of all other tokens are
   * zero (as {@link #initialise} makes them, and training keeps them: they get no gradient and zero
   * decays to zero), so each of their {@code V − U} logits is exactly 0 and contributes {@code (V −
   * U)·e⁰} to the partition function. The softmax runs over the {@code U} used tokens' logits plus
   * one constant logit {@code ln(V − U)}. For a GPT-2 vocabulary and a corpus of ~10k distinct
   * tokens this cuts the unembedding, the largest cost of a small model, about five-fold.
   *
   * @param usedTokens null for the plain softmax over the whole vocabulary
   */
  public NDArray loss(long[][] windows, int[] usedTokens, NDManager m) {
    int batch = windows.length;
    int length = windows[0].length - 1;
    long[] inputs = new long[batch * length];
    long[] targets = new long[batch * length];
    for (int b = 0; b < batch; b++) {
      if (windows[b].length != length + 1) {
        throw new IllegalArgumentException("All windows must have the same length");
      }
      System.arraycopy(windows[b], 0, inputs, b * length, length);
      System.arraycopy(windows[b], 1, targets, b * length, length);
    }
    NDArray x = hidden(m.create(inputs, new Shape(batch, length)), m).reshape(-1, config.dModel());
    NDArray logits;
    if (usedTokens == null) {
      logits = x.matMul(unembedding(m));
    } else {
      int[] position = new int[config.nVocab()];
      Arrays.fill(position, -1);
      long[] ids = new long[usedTokens.length];
      for (int i = 0; i < usedTokens.length; i++) {
        position[usedTokens[i]] = i;
        ids[i] = usedTokens[i];
      }
      for (int i = 0; i < targets.length; i++) {
        int mapped = position[(int) targets[i]];
        if (mapped < 0) {
          throw new IllegalArgumentException(
              "Token "
                  + targets[i]
                  + " is not among the used tokens; pass the whole corpus's tokens");
        }
        targets[i] = mapped;
      }
      NDArray rows = p("wte.weight").get(m, new NDIndex("{}", m.create(ids)));
      NDArray used = x.matMul(rows.transpose());
      long others = config.nVocab() - usedTokens.length;
      NDArray rest =
          m.full(
              new Shape(used.getShape().get(0), 1),
              others > 0 ? (float) Math.log(others) : Float.NEGATIVE_INFINITY);
      logits = used.concat(rest, 1);
    }
    NDArray logProbs = logits.logSoftmax(1);
    NDArray picked = logProbs.gather(m.create(targets, new Shape(batch * length, 1)), 1);
    return picked.mean().neg();
  }

  /** {@code [b, s, d]} → {@code [b, heads, s, d_head]}. */
  private static NDArray heads(NDArray x, long batch, long seq, int heads) {
    return x.reshape(batch, seq, heads, -1).transpose(0, 2, 1, 3);
  }

  private static NDArray causalMask(long seq, NDManager m) {
    int n = Math.toIntExact(seq);
    float[] mask = new float[n * n];
    for (int i = 0; i < n; i++) {
      Arrays.fill(mask, i * n + i + 1, (i + 1) * n, Float.NEGATIVE_INFINITY);
    }
    return m.create(mask, new Shape(n, n));
  }

  private NDArray p(String name) {
    return parameters.get(name);
  }

  /**
   * The gradients of the last backward pass, by parameter name, attached to {@code m} (handles onto
   * the parameters' gradient storage: valid until {@link #zeroGradients()}).
   */
  public Map<String, NDArray> gradients(NDManager m) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray g = e.getValue().getGradient();
      g.attach(m);
      out.put(e.getKey(), g);
    }
    return out;
  }

  /**
   * Zeroes every parameter's accumulated gradient (libtorch accumulates across backward passes).
   */
  public void zeroGradients() {
    for (NDArray p : parameters.values()) {
      JniUtils.zeroGrad((PtNDArray) p);
    }
  }

  /**
   * Writes the model as a HuggingFace GPT-2 folder ({@code config.json} and {@code
   * model.safetensors}, the unembedding tied to {@code wte}), loadable with {@link
   * io.github.neuronexplainer.models.weights.Gpt2Checkpoint#load(Path)} and {@link #load}.
   *
   * @param dtype {@link DType#F32}, or {@link DType#F16} to halve the size (loaders convert back)
   */
  public void save(Path folder, DType dtype) {
    if (dtype != DType.F32 && dtype != DType.F16) {
      throw new IllegalArgumentException("Save as F32 or F16, not " + dtype);
    }
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      tensors.put(e.getKey(), toHost(e.getValue(), dtype));
    }
    try {
      Files.createDirectories(folder);
      Files.writeString(folder.resolve(CONFIG_FILE), huggingFaceConfigJson(config));
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write " + folder.resolve(CONFIG_FILE), e);
    }
    SafetensorsFile.write(folder.resolve(MODEL_FILE), tensors, Map.of("format", "pt"));
  }

  /** A host copy of {@code array} as F32 or F16. */
  static HostTensor toHost(NDArray array, DType dtype) {
    long[] shape = array.getShape().getShape();
    if (dtype == DType.F32) {
      return HostTensor.ofFloats(array.toFloatArray(), shape);
    }
    try (NDArray half = array.toType(DataType.FLOAT16, true)) {
      ByteBuffer bytes = half.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
      ByteBuffer copy = ByteBuffer.allocate(bytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
      copy.put(bytes).flip();
      return new HostTensor(DType.F16, shape, copy);
    }
  }

  /** HuggingFace's {@code config.json} for a GPT-2 of this shape with tied embeddings. */
  public static String huggingFaceConfigJson(TransformerConfig config) {
    ObjectNode node = JSON.createObjectNode();
    node.put("model_type", "gpt2");
    node.putArray("architectures").add("GPT2LMHeadModel");
    node.put("n_embd", config.dModel());
    node.put("n_layer", config.nLayers());
    node.put("n_head", config.nHeads());
    node.put("n_positions", config.ctxWindow());
    node.put("n_ctx", config.ctxWindow());
    node.put("n_inner", config.dFf());
    node.put("vocab_size", config.nVocab());
    node.put("layer_norm_epsilon", config.layerNormEpsilon());
    node.put("activation_function", "gelu_new");
    node.put("tie_word_embeddings", true);
    return node.toPrettyString();
  }

  @Override
  public void close() {
    manager.close();
  }
}
