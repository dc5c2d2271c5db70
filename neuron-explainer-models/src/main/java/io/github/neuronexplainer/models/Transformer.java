package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.HookedPass;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.hooks.LibtorchExitGuard;
import io.github.neuronexplainer.models.internal.GradMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GPT-2 with a hook at every activation, computing exactly what the original's {@code
 * neuron_explainer.models.Transformer} computes, in the same order: layer norm in fp32 with
 * post-mean-subtraction / scale / post-scale points, Q and K each scaled by d_head^-1/4, causal and
 * pad masks, fp32 softmax (split into numerator / denominator when the denominator is hooked), tanh
 * GELU, pad-aware positions, KV cache.
 *
 * <p>Weights live in the model's own native memory until {@link #close()}. Each pass allocates its
 * intermediates in a sub-manager of the caller's token array's manager and closes them when it
 * ends; only the returned tensors remain, owned by the caller's manager.
 *
 * <p>Thread-safety: the weights are read-only, so several threads may run passes concurrently, each
 * with its own managers (libtorch's autograd mode is per thread, and each pass sets it). The
 * forward parts run in parallel; backward passes take turns on one JVM-wide lock (see {@link
 * HookedPass}). Results do not depend on the number of threads ({@code ConcurrencyTest}). Do not
 * {@link #close()} the model while passes run. When the JVM exits, it waits for the passes in
 * flight ({@link LibtorchExitGuard}).
 */
public final class Transformer implements AutoCloseable {
  private final TransformerConfig config;
  private final NDManager weightsManager;
  private final Map<String, NDArray> parameters;
  private final Layer[] layers;
  private final NDArray tokEmbed;
  private final NDArray posEmbed;
  private final NDArray finalLnWeight;
  private final NDArray finalLnBias;
  private final NDArray unembedT; // [d_model, vocab]: unembed.weight transposed
  private final float qkScale;

  /**
   * Parameters of one layer; {@code *T} are [in, out] transposed copies of nn.Linear weights, laid
   * out row-major (see {@link #transposed}), and {@code qkvT} is the q, k and v projections side by
   * side (one matrix product instead of three).
   */
  private record Layer(
      NDArray ln1Weight,
      NDArray ln1Bias,
      NDArray qkvT,
      NDArray qkvBias,
      NDArray outT,
      NDArray outBias,
      NDArray ln2Weight,
      NDArray ln2Bias,
      NDArray inT,
      NDArray inBias,
      NDArray mlpOutT,
      NDArray mlpOutBias) {}

  /**
   * Builds a model from parameters in the original's state-dict names and layouts ({@code
   * tok_embed.weight}, {@code xf_layers.0.attn.q_proj.weight} [out, in], ...). The arrays are
   * attached to the model's own manager.
   */
  public Transformer(TransformerConfig config, Map<String, NDArray> stateDict, NDManager parent) {
    this.config = config;
    this.weightsManager = parent.newSubManager();
    this.parameters = new HashMap<>();
    for (Map.Entry<String, NDArray> e : stateDict.entrySet()) {
      NDArray a = e.getValue();
      if (a.getDataType() != DataType.FLOAT32) {
        a = a.toType(DataType.FLOAT32, false);
      }
      a.attach(weightsManager);
      a.setName(e.getKey());
      parameters.put(e.getKey(), a);
    }
    this.tokEmbed = param("tok_embed.weight", config.nVocab(), config.dModel());
    this.posEmbed = param("pos_embed.weight", config.ctxWindow(), config.dModel());
    this.finalLnWeight = param("final_ln.weight", config.dModel());
    this.finalLnBias = param("final_ln.bias", config.dModel());
    this.unembedT = transposed(param("unembed.weight", config.nVocab(), config.dModel()));
    int d = config.dModel();
    this.layers = new Layer[config.nLayers()];
    for (int i = 0; i < layers.length; i++) {
      String p = "xf_layers." + i + ".";
      layers[i] =
          new Layer(
              param(p + "ln_1.weight", d),
              param(p + "ln_1.bias", d),
              concat(
                  param(p + "attn.q_proj.weight", config.dAttnQk(), d).transpose(),
                  param(p + "attn.k_proj.weight", config.dAttnQk(), d).transpose(),
                  param(p + "attn.v_proj.weight", config.dAttnV(), d).transpose()),
              concat(
                  param(p + "attn.q_proj.bias", config.dAttnQk()),
                  param(p + "attn.k_proj.bias", config.dAttnQk()),
                  param(p + "attn.v_proj.bias", config.dAttnV())),
              transposed(param(p + "attn.out_proj.weight", d, config.dAttnV())),
              param(p + "attn.out_proj.bias", d),
              param(p + "ln_2.weight", d),
              param(p + "ln_2.bias", d),
              transposed(param(p + "mlp.in_layer.weight", config.dFf(), d)),
              param(p + "mlp.in_layer.bias", config.dFf()),
              transposed(param(p + "mlp.out_layer.weight", d, config.dFf())),
              param(p + "mlp.out_layer.bias", d));
    }
    this.qkScale = TransformerMath.queryKeyScale(config.dHead());
    keepOutOfCallersScope();
  }

  /**
   * A model may be built inside a caller's {@link NDScope} (e.g. a model context loaded lazily by
   * its first derived scalar): the arrays the model keeps are its own, so that scope must not close
   * them when it ends.
   */
  private void keepOutOfCallersScope() {
    List<NDArray> kept = new ArrayList<>(parameters.values());
    kept.addAll(List.of(tokEmbed, posEmbed, finalLnWeight, finalLnBias, unembedT));
    for (Layer layer : layers) {
      kept.addAll(
          List.of(
              layer.ln1Weight(),
              layer.ln1Bias(),
              layer.qkvT(),
              layer.qkvBias(),
              layer.outT(),
              layer.outBias(),
              layer.ln2Weight(),
              layer.ln2Bias(),
              layer.inT(),
              layer.inBias(),
              layer.mlpOutT(),
              layer.mlpOutBias()));
    }
    NDScope.unregister(kept.toArray(NDArray[]::new));
  }

  /**
   * {@code w} [out, in] as a new row-major [in, out] array. A transposed view would do the same
   * arithmetic, but libtorch's matrix product over it is slower: 65 vs 40 ms for the unembedding of
   * 64 tokens, 3.4 vs 2.7 ms for an MLP input projection (A/B in one JVM, 2 cores), which is worth
   * the extra copy of the weights. (Reshaping a transposed view to one axis makes libtorch copy it
   * in row-major order; DJL has no {@code contiguous()}.)
   */
  private static NDArray transposed(NDArray w) {
    Shape shape = w.getShape();
    try (NDArray flat = w.transpose().reshape(-1)) {
      return flat.reshape(shape.get(1), shape.get(0));
    }
  }

  /** The arrays side by side along their last axis, as a new contiguous array of the model's. */
  private static NDArray concat(NDArray q, NDArray k, NDArray v) {
    int axis = q.getShape().dimension() - 1;
    NDArray qk = q.concat(k, axis);
    NDArray qkv = qk.concat(v, axis);
    qk.close();
    return qkv;
  }

  private NDArray param(String name, long... shape) {
    NDArray a = parameters.get(name);
    if (a == null) {
      throw new IllegalArgumentException(
          "Missing parameter '" + name + "'; the checkpoint does not match a GPT-2 layout");
    }
    if (!a.getShape().equals(new Shape(shape))) {
      throw new IllegalArgumentException(
          "Parameter '"
              + name
              + "' has shape "
              + a.getShape()
              + " but the config "
              + config
              + " needs "
              + new Shape(shape));
    }
    return a;
  }

  /**
   * Builds a model from a loaded checkpoint; the weights are copied to native memory owned by the
   * model (a sub-manager of {@code parent}).
   */
  public static Transformer fromCheckpoint(
      io.github.neuronexplainer.models.weights.Gpt2Checkpoint checkpoint, NDManager parent) {
    try (NDManager staging = parent.newSubManager()) {
      Map<String, NDArray> arrays = new HashMap<>();
      for (Map.Entry<String, io.github.neuronexplainer.models.weights.HostTensor> e :
          checkpoint.tensors().entrySet()) {
        arrays.put(e.getKey(), e.getValue().toFloat32().toNDArray(staging));
      }
      return new Transformer(checkpoint.config(), arrays, parent);
    }
  }

  /**
   * A copy of this model with each layer norm's gain and bias folded into the linear layers that
   * read it (q, k, v after {@code ln_1}; the MLP input after {@code ln_2}), as the original's
   * {@code simplify()}: {@code W' = W·diag(g)}, {@code b' = b + W·β}, then gain 1 and bias 0. The
   * final layer norm is left as is (the unembedding has no bias). Outputs are unchanged up to float
   * rounding; activations after the layer norms differ by design.
   */
  public Transformer simplified(NDManager parent) {
    try (NDManager staging = parent.newSubManager()) {
      Map<String, NDArray> folded = new HashMap<>();
      for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
        folded.put(e.getKey(), copyInto(e.getValue(), staging));
      }
      for (int i = 0; i < layers.length; i++) {
        String p = "xf_layers." + i + ".";
        fold(folded, p + "ln_1", p + "attn.q_proj", p + "attn.k_proj", p + "attn.v_proj");
        fold(folded, p + "ln_2", p + "mlp.in_layer");
      }
      return new Transformer(config, folded, parent);
    }
  }

  private static NDArray copyInto(NDArray a, NDManager manager) {
    NDArray copy = a.duplicate();
    copy.attach(manager);
    return copy;
  }

  private static void fold(Map<String, NDArray> params, String norm, String... linears) {
    NDArray gain = params.get(norm + ".weight");
    NDArray bias = params.get(norm + ".bias");
    for (String linear : linears) {
      NDArray w = params.get(linear + ".weight");
      NDArray b = params.get(linear + ".bias");
      params.put(linear + ".weight", w.mul(gain.reshape(1, -1)));
      params.put(linear + ".bias", b.add(w.matMul(bias.reshape(-1, 1)).reshape(-1)));
    }
    params.put(norm + ".weight", gain.onesLike());
    params.put(norm + ".bias", bias.zerosLike());
  }

  /** The device holding the weights; passes need managers on the same device. */
  public ai.djl.Device device() {
    return weightsManager.getDevice();
  }

  private void requireSameDevice(NDManager owner) {
    if (!owner.getDevice().equals(device())) {
      throw new IllegalArgumentException(
          "The model's weights are on "
              + device()
              + " but the manager passed is on "
              + owner.getDevice()
              + "; create it with NDManager.newBaseManager(model.device())");
    }
  }

  public TransformerConfig config() {
    return config;
  }

  /**
   * A parameter by its state-dict name, as stored (nn.Linear weights are [out, in]). The array is
   * the model's own: never modify or close it.
   */
  public NDArray parameter(String name) {
    NDArray a = parameters.get(name);
    if (a == null) {
      throw new IllegalArgumentException(
          "No parameter '" + name + "'; known: " + parameters.keySet());
    }
    return a;
  }

  /** Parameter names, as in the original's state dict. */
  public java.util.Set<String> parameterNames() {
    return java.util.Collections.unmodifiableSet(parameters.keySet());
  }

  // ---------------------------------------------------------------------------------------------
  // Forward pass, in the original's three parts.

  /**
   * Token + position embedding for {@code tokens} {@code [b, s]} (int64) with pad flags {@code [b,
   * s]} (bool, true = pad; null = no padding). Positions count non-pad tokens, continuing from the
   * cache's lengths when a cache is given (incremental decoding).
   */
  NDArray runEmbed(NDArray tokens, NDArray pad, KvCache cache, HookedPass pass) {
    NDManager m = pass.manager();
    long batch = tokens.getShape().get(0);
    long seq = tokens.getShape().get(1);
    long[] tokenIds = tokens.toLongArray();
    for (long t : tokenIds) {
      if (t < 0 || t >= config.nVocab()) {
        throw new IllegalArgumentException(
            "Token id " + t + " is out of range for a vocabulary of " + config.nVocab());
      }
    }
    boolean[] padFlags = pad == null ? new boolean[(int) (batch * seq)] : pad.toBooleanArray();
    long[] prev =
        cache == null || cache.rawLengths() == null ? new long[(int) batch] : cache.rawLengths();
    long[] positions = new long[(int) (batch * seq)];
    long[] lengths = new long[(int) batch];
    for (int b = 0; b < batch; b++) {
      long count = 0;
      for (int s = 0; s < seq; s++) {
        int i = (int) (b * seq + s);
        if (!padFlags[i]) {
          count++;
        }
        positions[i] = Math.max(count - 1, 0) + prev[b];
      }
      // The original takes the last position + 1 as the new length.
      lengths[b] = positions[(int) (b * seq + seq - 1)] + 1;
      if (lengths[b] > config.ctxWindow()) {
        throw new IllegalArgumentException(
            "Sequence "
                + b
                + " has "
                + lengths[b]
                + " tokens, more than the context window of "
                + config.ctxWindow()
                + "; shorten the prompt");
      }
    }
    if (cache != null) {
      cache.setLengths(lengths);
    }
    NDArray tokenIndex = m.create(tokenIds, new Shape(batch, seq));
    NDArray positionIndex = m.create(positions, new Shape(batch, seq));
    NDArray x = tokEmbed.get(m, new NDIndex("{}", tokenIndex));
    NDArray positional = posEmbed.get(m, new NDIndex("{}", positionIndex));
    x = x.add(positional);
    return pass.at(HookPoint.RESID_POST_EMB, LayerIndex.NONE, x);
  }

  /** All transformer layers on the residual stream {@code x} {@code [b, s, d]}. */
  NDArray runTorso(NDArray x, NDArray pad, KvCache cache, HookedPass pass) {
    NDArray allPad = padForAttention(x, pad, cache, pass.manager());
    // the same causal + pad mask serves every layer
    NDArray mask = TransformerMath.attentionMask(allPad, x.getShape().get(1), pass.manager());
    // Without hooks or gradients nothing outside a layer can hold its intermediates, so each layer
    // frees them as it ends and the next layer reuses the memory: otherwise a pass touches
    // hundreds of MB of fresh memory, paying page faults and cold caches in every product.
    boolean freeEachLayer = pass.hooks().isEmpty() && !pass.recordsGradients();
    for (int i = 0; i < layers.length; i++) {
      if (!freeEachLayer) {
        x = runLayer(i, x, mask, cache, pass);
        continue;
      }
      NDArray next;
      try (NDScope layerScope = new NDScope()) {
        next = runLayer(i, x, mask, cache, pass);
        NDScope.unregister(next);
      }
      if (i > 0) {
        x.close(); // the previous layer's output; the embedding belongs to the caller
      }
      x = next;
    }
    return x;
  }

  /** Final layer norm and unembedding: logits {@code [b, s, vocab]}. */
  NDArray runUnembed(NDArray x, HookedPass pass) {
    x =
        layerNorm(
            x,
            finalLnWeight,
            finalLnBias,
            pass,
            LayerIndex.NONE,
            HookPoint.LN_F_POST_MEAN_SUBTRACTION,
            HookPoint.LN_F_SCALE,
            HookPoint.LN_F_POST_SCALE);
    x = pass.at(HookPoint.POST_LN_F, LayerIndex.NONE, x);
    NDArray logits = x.matMul(unembedT);
    return pass.at(HookPoint.LOGITS, LayerIndex.NONE, logits);
  }

  /** Embedding, torso and unembedding: logits {@code [b, s, vocab]}. */
  NDArray forward(NDArray tokens, NDArray pad, KvCache cache, HookedPass pass) {
    NDArray x = runEmbed(tokens, pad, cache, pass);
    x = runTorso(x, pad, cache, pass);
    return runUnembed(x, pass);
  }

  private static boolean unembedIsHooked(Hooks hooks) {
    return hooks.hasAny(HookPoint.LN_F_POST_MEAN_SUBTRACTION)
        || hooks.hasAny(HookPoint.LN_F_SCALE)
        || hooks.hasAny(HookPoint.LN_F_POST_SCALE)
        || hooks.hasAny(HookPoint.POST_LN_F)
        || hooks.hasAny(HookPoint.LOGITS);
  }

  /**
   * A new, empty KV cache for incremental decoding with room for {@code capacity} positions, owned
   * by {@code manager}.
   */
  KvCache newCache(NDManager manager, long capacity) {
    return new KvCache(manager, config.nLayers(), capacity);
  }

  private NDArray padForAttention(NDArray x, NDArray pad, KvCache cache, NDManager m) {
    long batch = x.getShape().get(0);
    long seq = x.getShape().get(1);
    NDArray newPad = pad == null ? m.zeros(new Shape(batch, seq), DataType.BOOLEAN) : pad;
    if (cache == null) {
      return newPad;
    }
    NDArray all = cache.appendPad(newPad);
    // a copy owned by the pass: the cache's array is replaced on the next step
    NDArray copy = all.get(m, new NDIndex(":"));
    return copy;
  }

  private NDArray runLayer(int i, NDArray x, NDArray mask, KvCache cache, HookedPass pass) {
    Layer w = layers[i];
    NDArray lnX =
        layerNorm(
            x,
            w.ln1Weight(),
            w.ln1Bias(),
            pass,
            i,
            HookPoint.LN_ATTN_POST_MEAN_SUBTRACTION,
            HookPoint.LN_ATTN_SCALE,
            HookPoint.LN_ATTN_POST_SCALE);
    lnX = pass.at(HookPoint.POST_LN_ATTN, i, lnX);
    NDArray attnDelta = attention(i, w, lnX, mask, cache, pass);
    attnDelta = pass.at(HookPoint.DELTA_ATTN, i, attnDelta);
    x = x.add(attnDelta);
    x = pass.at(HookPoint.POST_ATTN, i, x);

    NDArray lnX2 =
        layerNorm(
            x,
            w.ln2Weight(),
            w.ln2Bias(),
            pass,
            i,
            HookPoint.LN_MLP_POST_MEAN_SUBTRACTION,
            HookPoint.LN_MLP_SCALE,
            HookPoint.LN_MLP_POST_SCALE);
    lnX2 = pass.at(HookPoint.POST_LN_MLP, i, lnX2);
    NDArray pre = lnX2.matMul(w.inT()).addi(w.inBias());
    pre = pass.at(HookPoint.MLP_PRE_ACT, i, pre);
    NDArray post =
        pass.recordsGradients()
            ? TransformerMath.gelu(pre)
            : TransformerMath.geluWithoutGradient(pre);
    post = pass.at(HookPoint.MLP_POST_ACT, i, post);
    NDArray mlpDelta = post.matMul(w.mlpOutT()).addi(w.mlpOutBias());
    mlpDelta = pass.at(HookPoint.DELTA_MLP, i, mlpDelta);
    x = x.add(mlpDelta);
    return pass.at(HookPoint.POST_MLP, i, x);
  }

  private NDArray layerNorm(
      NDArray x,
      NDArray weight,
      NDArray bias,
      HookedPass pass,
      int layer,
      HookPoint postMeanSubtraction,
      HookPoint scalePoint,
      HookPoint postScale) {
    float eps = (float) config.layerNormEpsilon();
    NDArray centered = x.sub(x.mean(new int[] {-1}, true));
    centered = pass.at(postMeanSubtraction, layer, centered);
    NDArray scale = TransformerMath.layerNormScale(centered, eps);
    scale = pass.at(scalePoint, layer, scale);
    NDArray normalized = centered.div(scale);
    normalized = pass.at(postScale, layer, normalized);
    return normalized.mul(weight).add(bias);
  }

  private NDArray attention(
      int layer, Layer w, NDArray x, NDArray mask, KvCache cache, HookedPass pass) {
    long batch = x.getShape().get(0);
    long nQueries = x.getShape().get(1);
    int heads = config.nHeads();
    NDArray qkv = x.matMul(w.qkvT()).addi(w.qkvBias());
    long dqk = config.dAttnQk();
    NDArray q = qkv.get(new NDIndex(":, :, :{}", dqk));
    NDArray k = qkv.get(new NDIndex(":, :, {}:{}", dqk, 2 * dqk));
    NDArray v = qkv.get(new NDIndex(":, :, {}:", 2 * dqk));
    NDArray scale = TransformerMath.constant(q, qkScale);
    // the cache holds scaled keys: scaling is elementwise, so scaling only the new keys gives the
    // same values as scaling all of them, without reading the whole cache each step
    k = k.mul(scale);
    if (cache != null) {
      NDArray[] kv = cache.append(layer, k, v);
      k = kv[0];
      v = kv[1];
    }
    long nKeys = k.getShape().get(1);
    q = q.reshape(batch, nQueries, heads, -1).mul(scale);
    q = pass.at(HookPoint.ATTN_Q, layer, q);
    k = k.reshape(batch, nKeys, heads, -1);
    k = pass.at(HookPoint.ATTN_K, layer, k);
    v = v.reshape(batch, nKeys, heads, -1);
    v = pass.at(HookPoint.ATTN_V, layer, v);

    // Scores stay in [b, h, q, k], where the softmax runs over contiguous keys and the products
    // need no copies; hooks see the original's [b, q, k, h] (a view).
    // [b, h, q, d] x [b, h, d, k] -> [b, h, q, k]
    NDArray logits = q.transpose(0, 2, 1, 3).matMul(k.transpose(0, 2, 3, 1)).addi(mask);
    logits = atHeadsLast(pass, HookPoint.ATTN_QK_LOGITS, layer, logits);

    NDArray probs;
    if (pass.isHooked(HookPoint.ATTN_QK_SOFTMAX_DENOMINATOR)) {
      NDArray max = logits.max(new int[] {-1}, true).stopGradient();
      NDArray numerator = logits.sub(max).exp();
      NDArray denominator = numerator.sum(new int[] {-1}, true);
      denominator = atHeadsLast(pass, HookPoint.ATTN_QK_SOFTMAX_DENOMINATOR, layer, denominator);
      probs = numerator.div(denominator);
    } else {
      probs = logits.softmax(-1);
    }
    probs = atHeadsLast(pass, HookPoint.ATTN_QK_PROBS, layer, probs);

    // [b, h, q, k] x [b, h, k, d] -> [b, h, q, d] -> [b, q, h, d]
    NDArray out = probs.matMul(v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3);
    out = pass.at(HookPoint.ATTN_V_OUT, layer, out);
    out = out.reshape(batch, nQueries, -1);
    return out.matMul(w.outT()).addi(w.outBias());
  }

  /**
   * Runs the hooks at {@code point} on attention scores kept as {@code [b, h, q, k]}, showing them
   * the original's {@code [b, q, k, h]}; unhooked, the scores pass through untouched.
   */
  private static NDArray atHeadsLast(HookedPass pass, HookPoint point, int layer, NDArray scores) {
    if (!pass.isHooked(point)) {
      return scores;
    }
    return pass.at(point, layer, scores.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2);
  }

  // ---------------------------------------------------------------------------------------------
  // Whole passes.

  /**
   * Runs the prompts once, records the requested forward values and gradients (TransformerLens's
   * {@code run_with_cache}), and back-propagates from the request's loss if it has one.
   *
   * @param owner the manager that will own the returned cache (a sub-manager of it)
   */
  public ActivationCache runWithCache(RunRequest request, NDManager owner) {
    requireSameDevice(owner);
    checkLayers(request.layers(), "RunRequest.layers");
    checkLayers(request.hooks());
    TokenBatch batch = TokenBatch.of(request.prompts(), request.padSide());
    ActivationCache cache = new ActivationCache(owner, batch);
    boolean gradients = request.loss() != null || request.hooks().needsGradients();
    Hooks.Builder hooks = request.hooks().toBuilder();
    for (HookPoint point : request.forwardPoints()) {
      hooks.forward(
          point,
          point.perLayer() ? request.layers() : java.util.Set.of(),
          (x, ctx) -> {
            cache.put(
                new ActivationCache.Key(point, ctx.layer(), PassType.FORWARD), x.stopGradient());
            return x;
          });
    }
    for (HookPoint point : request.gradientPoints()) {
      hooks.readGradient(
          point,
          point.perLayer() ? request.layers() : java.util.Set.of(),
          (g, ctx) -> cache.put(new ActivationCache.Key(point, ctx.layer(), PassType.BACKWARD), g));
    }
    try (NDManager passManager = owner.newSubManager()) {
      HookedPass pass = new HookedPass(hooks.build(), passManager, gradients);
      runGuarded(
          gradients,
          () -> {
            NDArray logits =
                forward(batch.tokensArray(passManager), batch.padArray(passManager), null, pass);
            if (gradients) {
              Loss loss = request.loss() == null ? Loss.zero() : request.loss();
              NDArray value = loss.compute(logits, batch.lastPositions());
              if (request.loss() != null) {
                cache.setLoss(value.getFloat());
              }
              pass.backward(value);
            }
            cache.setLogits(logits.stopGradient());
            return null;
          });
    } catch (RuntimeException e) {
      cache.close();
      throw e;
    }
    return cache;
  }

  /**
   * Logits {@code [b, s, vocab]} for right-padded prompts, without autograd, owned by {@code
   * owner}.
   */
  public NDArray logits(java.util.List<int[]> prompts, Hooks hooks, NDManager owner) {
    return logits(prompts, PadSide.RIGHT, hooks, owner);
  }

  /**
   * Logits {@code [b, s, vocab]} for prompts padded on {@code side} (pad-aware positions), without
   * autograd, owned by {@code owner}.
   */
  public NDArray logits(java.util.List<int[]> prompts, PadSide side, Hooks hooks, NDManager owner) {
    requireSameDevice(owner);
    checkLayers(hooks);
    TokenBatch batch = TokenBatch.of(prompts, side);
    try (NDManager passManager = owner.newSubManager()) {
      HookedPass pass = new HookedPass(hooks, passManager, false);
      NDArray logits =
          runGuarded(
              false,
              () ->
                  forward(batch.tokensArray(passManager), batch.padArray(passManager), null, pass));
      logits.attach(owner);
      return logits;
    }
  }

  /**
   * Samples continuations of text prompts, encoded as the original's {@code sample} does (plain
   * text: a prompt containing {@code <|endoftext|>} is rejected, as tiktoken's {@code encode}
   * rejects it by default).
   */
  public SampleResult sampleText(
      java.util.List<String> prompts, SamplingOptions options, Hooks hooks) {
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.forEncoding(config.enc());
    java.util.List<int[]> tokens = new java.util.ArrayList<>();
    for (String prompt : prompts) {
      if (prompt.contains(Gpt2Tokenizer.END_OF_TEXT_STRING)) {
        throw new IllegalArgumentException(
            "Prompt contains "
                + Gpt2Tokenizer.END_OF_TEXT_STRING
                + "; pass token ids to sample() instead");
      }
      tokens.add(tokenizer.encodeOrdinary(prompt));
    }
    return sample(tokens, options, hooks);
  }

  /**
   * Samples continuations of the prompts with a KV cache; prompts of unequal length are left padded
   * with pad-aware positions, as in the original's {@code Transformer.sample}. {@code hooks} run at
   * every step (the first step sees the whole prompt, later steps one token).
   */
  public SampleResult sample(java.util.List<int[]> prompts, SamplingOptions options, Hooks hooks) {
    checkLayers(hooks);
    TokenBatch batch = TokenBatch.of(prompts, PadSide.LEFT);
    java.util.Random random = new java.util.Random(options.seed());
    int b = batch.batchSize();
    int[][] sampled = new int[b][options.numTokens()];
    try (NDManager owner = weightsManager.getEngine().newBaseManager(device());
        KvCache cache = newCache(owner, batch.length() + options.numTokens())) {
      long[] stepTokens = batch.tokens();
      boolean first = true;
      for (int step = 0; step < options.numTokens(); step++) {
        try (NDManager stepManager = owner.newSubManager()) {
          HookedPass pass = new HookedPass(hooks, stepManager, false);
          NDArray tokens = stepManager.create(stepTokens, new Shape(b, first ? batch.length() : 1));
          NDArray pad = first ? batch.padArray(stepManager) : null;
          NDArray logits =
              runGuarded(
                  false,
                  () -> {
                    NDArray x = runTorso(runEmbed(tokens, pad, cache, pass), pad, cache, pass);
                    if (!unembedIsHooked(hooks)) {
                      // only the last position is sampled from: skip the other positions' logits
                      x = x.get(new NDIndex(":, -1:, :"));
                    }
                    return runUnembed(x, pass);
                  });
          long s = logits.getShape().get(1);
          float[] last = logits.get(new NDIndex(":, {}, :", s - 1)).toFloatArray();
          stepTokens = new long[b];
          for (int i = 0; i < b; i++) {
            int next = Sampling.pick(last, i * config.nVocab(), config.nVocab(), options, random);
            sampled[i][step] = next;
            stepTokens[i] = next;
          }
        }
        first = false;
      }
    }
    java.util.List<int[]> tokenLists = new java.util.ArrayList<>();
    java.util.List<String> strings = new java.util.ArrayList<>();
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.forEncoding(config.enc());
    for (int[] row : sampled) {
      tokenLists.add(row);
      StringBuilder text = new StringBuilder();
      for (int t : row) {
        text.append(tokenizer.decodeToken(t)); // the original decodes token by token
      }
      strings.add(text.toString());
    }
    return new SampleResult(tokenLists, strings);
  }

  // ---------------------------------------------------------------------------------------------

  /**
   * {@link GradMode#with} for one of this model's passes, which the JVM's exit waits for ({@link
   * LibtorchExitGuard}: an exit during a pass would otherwise crash in libtorch).
   */
  private static <T> T runGuarded(boolean gradients, java.util.function.Supplier<T> pass) {
    return LibtorchExitGuard.run(() -> GradMode.with(gradients, pass));
  }

  /** Refuses hooks that could never run on this model: a layer outside {@code [0, nLayers)}. */
  private void checkLayers(Hooks hooks) {
    for (Hooks.Entry e : hooks.entries()) {
      checkLayers(e.layers(), "a hook at " + e.point());
    }
  }

  private void checkLayers(java.util.Collection<Integer> layerIndices, String what) {
    for (int layer : layerIndices) {
      if (layer < 0 || layer >= config.nLayers()) {
        throw new IllegalArgumentException(
            "Layer "
                + layer
                + " in "
                + what
                + " is outside the model's layers [0, "
                + config.nLayers()
                + ")");
      }
    }
  }

  /** A new pass over this model with {@code hooks}, its tensors owned by {@code passManager}. */
  HookedPass newPass(Hooks hooks, NDManager passManager, boolean recordGradients) {
    checkLayers(hooks);
    return new HookedPass(hooks, passManager, recordGradients);
  }

  /** Native arrays owned by the model: constant after loading unless something leaks into it. */
  int ownedArrayCount() {
    return ((ai.djl.ndarray.BaseNDManager) weightsManager).getManagedArrays().size();
  }

  @Override
  public void close() {
    weightsManager.close();
  }

  @Override
  public String toString() {
    return "Transformer" + config;
  }
}
