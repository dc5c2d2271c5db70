package io.github.neuronexplainer.models.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.autoencoder.AutoencoderSplice;
import io.github.neuronexplainer.models.hooks.HookContext;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.List;
import java.util.Set;

/**
 * The hooks that give each prompt of a batch its own trace and ablations: every hook touches only
 * its batch element (masks over the batch dimension), so prompts with different settings share one
 * pass.
 *
 * <p>A trace reads the traced activation inside the pass, before any ablation at its own location,
 * so its value is computed from the (possibly ablated) upstream residual stream, as the original's
 * reconstituter computes it. The original back-propagates from an activation recomputed from the
 * residual stream before the node, so no gradient reaches the traced layer past that residual
 * stream; {@link TraceTarget#cutsGradient} names those locations, which the runner stores as zeros.
 *
 * <p>Stateless and thread-safe.
 */
final class BatchHooks {
  private BatchHooks() {}

  /** Where a trace reads its activation, and what it detaches. */
  record TraceTarget(
      TraceConfig trace,
      HookPoint point,
      int[] indices,
      SparseAutoencoder autoencoder,
      boolean preActivation,
      HookPoint layerNormScale,
      HookPoint detachedInput,
      boolean mlpSide) {

    /**
     * Whether the original's backward pass (started from the residual stream before the traced
     * node) leaves this gradient undefined: later layers, the final layer norm and logits, and the
     * traced layer past that residual stream.
     */
    boolean cutsGradient(
        ActivationLocationType location, int layer, ActivationLocationType genericInput) {
      if (location.hasNoLayers()) {
        return location != ActivationLocationType.RESID_POST_EMBEDDING;
      }
      int traced = trace.layerIndex();
      if (layer != traced) {
        return layer > traced;
      }
      return !mlpSide || isMlpSide(location, genericInput);
    }
  }

  /** Locations computed after RESID_POST_ATTN within a layer. */
  private static boolean isMlpSide(
      ActivationLocationType location, ActivationLocationType genericInput) {
    return switch (location) {
      case MLP_INPUT_LAYER_NORM_SCALE,
          MLP_PRE_ACT,
          MLP_POST_ACT,
          RESID_DELTA_MLP,
          RESID_POST_MLP,
          ONLINE_MLP_AUTOENCODER_LATENT,
          ONLINE_MLP_AUTOENCODER_ERROR,
          ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR ->
          true;
      case ONLINE_AUTOENCODER_LATENT -> genericInput != ActivationLocationType.RESID_DELTA_ATTN;
      default -> false;
    };
  }

  /**
   * Resolves a trace: the point and indices of its activation, and what the original detaches.
   *
   * @throws IllegalArgumentException for an index outside the prompt, a trace of a node type that
   *     has no activation to trace, or a latent trace without its autoencoder
   */
  static TraceTarget target(
      TraceConfig trace, int promptLength, List<AutoencoderContext> autoencoders) {
    if (trace.passType() != PassType.FORWARD) {
      throw new IllegalArgumentException(
          "A trace starts at a forward activation, got pass " + trace.passType());
    }
    List<Integer> idx = trace.tensorIndices();
    for (Integer i : idx) {
      if (i == null) {
        throw new IllegalArgumentException(
            "A trace needs one activation: every tensor index must be given (no \"All\"), got "
                + idx);
      }
    }
    int[] indices = idx.stream().mapToInt(Integer::intValue).toArray();
    if (indices.length == 0 || indices[0] < 0 || indices[0] >= promptLength) {
      throw new IllegalArgumentException(
          "Trace token index "
              + idx
              + " is outside the prompt: valid tokens 0.."
              + (promptLength - 1));
    }
    boolean pre = trace.preOrPostAct() == PreOrPostAct.PRE;
    switch (trace.nodeType()) {
      case MLP_NEURON -> {
        return new TraceTarget(
            trace,
            pre ? HookPoint.MLP_PRE_ACT : HookPoint.MLP_POST_ACT,
            indices,
            null,
            pre,
            HookPoint.LN_MLP_SCALE,
            null,
            true);
      }
      case ATTENTION_HEAD -> {
        AttentionTraceType type = trace.attentionTraceType();
        if (type == null) {
          throw new IllegalArgumentException(
              "An attention trace needs an attention trace type (QK, Q, K or V)");
        }
        HookPoint detached =
            switch (type) {
              case Q -> HookPoint.ATTN_K;
              case K -> HookPoint.ATTN_Q;
              default -> null;
            };
        return new TraceTarget(
            trace,
            pre ? HookPoint.ATTN_QK_LOGITS : HookPoint.ATTN_QK_PROBS,
            indices,
            null,
            pre,
            HookPoint.LN_ATTN_SCALE,
            detached,
            false);
      }
      case AUTOENCODER_LATENT, MLP_AUTOENCODER_LATENT, ATTENTION_AUTOENCODER_LATENT -> {
        AutoencoderContext context = autoencoderFor(trace, autoencoders);
        if (!context.layers().contains(trace.layerIndex())) {
          throw new IllegalArgumentException(
              "The autoencoder on "
                  + context.inputLocation()
                  + " has no layer "
                  + trace.layerIndex()
                  + "; its layers: "
                  + context.layers());
        }
        SparseAutoencoder ae = context.autoencoder(trace.layerIndex());
        if (indices[1] < 0 || indices[1] >= ae.nLatents()) {
          throw new IllegalArgumentException(
              "Trace latent "
                  + indices[1]
                  + " is out of range: valid latents 0.."
                  + (ae.nLatents() - 1));
        }
        boolean attention = context.inputLocation() == ActivationLocationType.RESID_DELTA_ATTN;
        return new TraceTarget(
            trace,
            HookPoint.forLocation(context.inputLocation()),
            indices,
            ae,
            pre,
            attention ? HookPoint.LN_ATTN_SCALE : HookPoint.LN_MLP_SCALE,
            null,
            !attention);
      }
      default ->
          throw new IllegalArgumentException(
              "Cannot trace a node of type "
                  + trace.nodeType()
                  + "; trace an MLP neuron, an attention head or an autoencoder latent");
    }
  }

  private static AutoencoderContext autoencoderFor(
      TraceConfig trace, List<AutoencoderContext> autoencoders) {
    if (autoencoders.isEmpty()) {
      throw new UnsupportedDerivationException(
          "Tracing " + trace.nodeType() + " needs its autoencoder; give the autoencoder contexts");
    }
    MultiAutoencoderContext multi = MultiAutoencoderContext.of(autoencoders);
    AutoencoderContext context =
        switch (trace.nodeType()) {
          case AUTOENCODER_LATENT -> autoencoders.size() == 1 ? autoencoders.get(0) : null;
          default -> multi.autoencoderContext(trace.nodeType());
        };
    if (context == null) {
      throw new UnsupportedDerivationException(
          "No autoencoder for "
              + trace.nodeType()
              + " among "
              + autoencoders.stream().map(AutoencoderContext::inputLocation).toList()
              + (trace.nodeType() == NodeType.AUTOENCODER_LATENT
                  ? " (the generic latent type needs exactly one autoencoder family)"
                  : ""));
    }
    return context;
  }

  /**
   * Adds the hooks of one element's trace: reading the traced activation into {@code value[0]}
   * (attached to the pass's graph), and detaching the layer-norm scale and, for Q or K traces, the
   * other side.
   */
  static void addTrace(Hooks.Builder hooks, TraceTarget target, int element, NDArray[] value) {
    int layer = target.trace().layerIndex();
    hooks.forward(
        target.point(),
        Set.of(layer),
        (x, ctx) -> {
          value[0] = read(x, target, element);
          return x;
        });
    addDetachments(hooks, target, element, target.trace().detachLayerNormScale());
  }

  /**
   * Adds the hooks of one element's trace through V ({@link DirectEffectTrace}): the values and
   * probabilities of the traced layer are read and combined into the traced scalar in {@code
   * value[0]}; the layer norm's scale, the queries and the keys are detached, as the original's
   * direct-effect reconstituter does, so the gradient flows through V only.
   *
   * @param valueDirection {@link DirectEffectTrace#valueDirection} of this element's trace
   */
  static void addTraceThroughV(
      Hooks.Builder hooks,
      TraceTarget target,
      int element,
      NDArray valueDirection,
      NDArray[] value) {
    int layer = target.trace().layerIndex();
    NDArray[] values = new NDArray[1];
    hooks.forward(
        HookPoint.ATTN_V,
        Set.of(layer),
        (x, ctx) -> {
          values[0] = x.get(new NDIndex("{}", element));
          return x;
        });
    hooks.forward(
        HookPoint.ATTN_QK_PROBS,
        Set.of(layer),
        (x, ctx) -> {
          checkIndices(
              x.getShape(), target.indices(), "trace through V of " + HookPoint.ATTN_QK_PROBS);
          value[0] =
              DirectEffectTrace.directEffect(
                  x.get(new NDIndex("{}", element)), values[0], target.indices(), valueDirection);
          return x;
        });
    addDetachments(hooks, target, element, TraceConfig.DETACH_LAYER_NORM_SCALE);
    // Only V is back-propagated through, as the original's reconstituter detaches Q and K.
    for (HookPoint queryOrKey : List.of(HookPoint.ATTN_Q, HookPoint.ATTN_K)) {
      hooks.forward(queryOrKey, Set.of(layer), (x, ctx) -> detachElement(x, element, ctx));
    }
  }

  private static void addDetachments(
      Hooks.Builder hooks, TraceTarget target, int element, boolean layerNormScale) {
    int layer = target.trace().layerIndex();
    if (layerNormScale) {
      hooks.forward(
          target.layerNormScale(), Set.of(layer), (x, ctx) -> detachElement(x, element, ctx));
    }
    if (target.detachedInput() != null) {
      hooks.forward(
          target.detachedInput(), Set.of(layer), (x, ctx) -> detachElement(x, element, ctx));
    }
  }

  private static NDArray read(NDArray x, TraceTarget target, int element) {
    int[] indices = target.indices();
    if (target.autoencoder() == null) {
      checkIndices(x.getShape(), indices, "trace of " + target.point());
      return x.get(index(element, indices));
    }
    NDArray input = x.get(new NDIndex("{}, {}", element, indices[0]));
    NDArray latents =
        target.preActivation()
            ? target.autoencoder().encodePreActivation(input)
            : target.autoencoder().encode(input);
    return latents.get(new NDIndex("{}", indices[1]));
  }

  /** {@code x} with batch element {@code element} detached from the graph (same values). */
  private static NDArray detachElement(NDArray x, int element, HookContext ctx) {
    NDArray detached = x.stopGradient();
    NDArray keep = elementMask(x.getShape(), element, ctx.passManager(), true);
    return detached.add(x.sub(detached).mul(keep));
  }

  /** Ones over the batch except {@code element} (or only at it), broadcastable to {@code shape}. */
  private static NDArray elementMask(Shape shape, int element, NDManager manager, boolean allBut) {
    float[] mask = new float[(int) shape.get(0)];
    for (int b = 0; b < mask.length; b++) {
      mask[b] = (b == element) != allBut ? 1f : 0f;
    }
    long[] dims = new long[shape.dimension()];
    java.util.Arrays.fill(dims, 1);
    dims[0] = mask.length;
    return manager.create(mask).reshape(new Shape(dims));
  }

  /**
   * Adds one element's ablation: the forward activation (or, for the backward pass, the gradient)
   * at the index set to the value. Latent locations are hooked inside {@code splice}.
   */
  static void addAblation(
      Hooks.Builder hooks, Ablation ablation, int element, AutoencoderSplice splice) {
    ActivationLocationType location = ablation.index().activationLocationType();
    HookPoint point;
    if (location.isOnline()) {
      if (splice == null) {
        throw new UnsupportedDerivationException(
            "Ablating " + location + " needs the autoencoder that produces it; give its context");
      }
      point = splice.point(location);
    } else {
      point = HookPoint.forLocation(location);
    }
    int layer = ablation.index().layerIndex();
    if (point.perLayer() == (layer == LayerIndex.NONE)) {
      throw new IllegalArgumentException(
          location
              + (point.perLayer() ? " needs a layer index" : " has no layers")
              + "; got "
              + LayerIndex.format(layer));
    }
    Set<Integer> layers = point.perLayer() ? Set.of(layer) : Set.of();
    List<Integer> indices = ablation.index().tensorIndices();
    float value = ablation.value();
    if (ablation.index().passType() == PassType.FORWARD) {
      hooks.forward(
          point,
          layers,
          (x, ctx) -> setAt(x, element, indices, value, ctx.passManager(), location));
    } else {
      hooks.editGradient(
          point,
          layers,
          (g, ctx) -> setAt(g, element, indices, value, ctx.passManager(), location));
    }
  }

  /** {@code x} with {@code x[element, indices] = value}, as a differentiable mask expression. */
  private static NDArray setAt(
      NDArray x,
      int element,
      List<Integer> indices,
      float value,
      NDManager manager,
      ActivationLocationType location) {
    checkIndices(
        x.getShape(),
        indices.stream().mapToInt(i -> i == null ? 0 : i).toArray(),
        "ablation of " + location);
    StringBuilder spec = new StringBuilder().append(element);
    for (Integer i : indices) {
      spec.append(", ").append(i == null ? ":" : i.toString());
    }
    NDIndex at = new NDIndex(spec.toString());
    NDArray keep = manager.ones(x.getShape(), x.getDataType());
    keep.set(at, 0f);
    NDArray fill = manager.zeros(x.getShape(), x.getDataType());
    fill.set(at, value);
    return x.mul(keep).add(fill);
  }

  private static NDIndex index(int element, int[] indices) {
    StringBuilder spec = new StringBuilder().append(element);
    for (int i : indices) {
      spec.append(", ").append(i);
    }
    return new NDIndex(spec.toString());
  }

  /**
   * Refuses an index outside a dimension of {@code shape} (batch dimension first), naming the
   * range.
   */
  private static void checkIndices(Shape shape, int[] indices, String what) {
    if (indices.length != shape.dimension() - 1) {
      throw new IllegalArgumentException(
          what + ": " + indices.length + " indices for an activation of shape " + shape.slice(1));
    }
    for (int d = 0; d < indices.length; d++) {
      long size = shape.get(d + 1);
      if (indices[d] < 0 || indices[d] >= size) {
        throw new IllegalArgumentException(
            what
                + ": index "
                + indices[d]
                + " of dimension "
                + d
                + " is out of range 0.."
                + (size - 1));
      }
    }
  }
}
