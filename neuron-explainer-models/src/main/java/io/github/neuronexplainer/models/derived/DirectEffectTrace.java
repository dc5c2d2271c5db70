package io.github.neuronexplainer.models.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.RawActivationKey;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.Transformer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Traces of an attention head through V (the original's {@code
 * get_activation_indices_and_reconstitute_direct_effect_fn}): the traced scalar is the direct
 * effect of the head's value write from key token k to query token q on a downstream direction,
 *
 * <pre>  probs[q, k, h] · V[k, h, :] · (W_O[h] g[q])</pre>
 *
 * where {@code g} is the gradient, detached, of the downstream quantity with respect to the
 * residual stream before it: the loss's gradient at the final residual stream (through the final
 * layer norm with its scale detached) without a downstream trace, else the downstream traced
 * activation's gradient at the residual stream before that node. {@code g} comes from a first pass
 * with the prompt's forward ablations (the original reconstitutes it from the same ablated pass and
 * detaches it, so backward ablations do not touch it); the main pass then back-propagates from the
 * scalar, whose probabilities and values are the pass's own, through V only: the layer norm's scale
 * (the original's {@code DETACH_LAYER_NORM_SCALE}), the queries and the keys are detached.
 *
 * <p>Stateless and thread-safe.
 */
final class DirectEffectTrace {
  private DirectEffectTrace() {}

  static boolean isThroughV(TraceConfig trace) {
    return trace != null && trace.attentionTraceType() == AttentionTraceType.V;
  }

  /**
   * The first pass's request for a V trace: the prompt with its forward ablations, back-propagating
   * from the downstream trace, or from the loss with the final layer norm's scale detached.
   *
   * @throws UnsupportedDerivationException for a V trace without a downstream trace or a loss
   */
  static PromptRequest downstreamRequest(PromptRequest request) {
    TraceConfig downstream = request.trace().downstreamTraceConfig();
    List<Ablation> ablations = new ArrayList<>();
    for (Ablation ablation : request.ablations()) {
      if (ablation.index().passType() == PassType.FORWARD) {
        ablations.add(ablation);
      }
    }
    PromptRequest.Builder builder =
        PromptRequest.builder(request.tokenArray()).ablations(ablations);
    if (downstream != null) {
      return builder.trace(downstream).build();
    }
    if (request.loss() == null) {
      throw new UnsupportedDerivationException(
          "A trace through V without a downstream trace measures the head's direct effect on the loss:"
              + " give a loss, or a downstream trace config");
    }
    return builder
        .loss(request.loss())
        .ablation(
            new Ablation(
                new ActivationIndex(
                    ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE,
                    Arrays.asList(null, null),
                    LayerIndex.NONE,
                    PassType.BACKWARD),
                0f))
        .build();
  }

  /** The residual stream (location and layer) whose gradient the first pass records. */
  static ActivationIndex downstreamResidual(
      TraceConfig trace, int promptLength, List<AutoencoderContext> autoencoders, int nLayers) {
    TraceConfig downstream = trace.downstreamTraceConfig();
    if (downstream == null) {
      return residual(ActivationLocationType.RESID_POST_MLP, nLayers - 1);
    }
    int layer = downstream.layerIndex();
    if (BatchHooks.target(downstream, promptLength, autoencoders).mlpSide()) {
      return residual(ActivationLocationType.RESID_POST_ATTN, layer);
    }
    return layer == 0
        ? residual(ActivationLocationType.RESID_POST_EMBEDDING, LayerIndex.NONE)
        : residual(ActivationLocationType.RESID_POST_MLP, layer - 1);
  }

  static RawActivationKey key(ActivationIndex residual) {
    return new RawActivationKey(residual.activationLocationType(), PassType.BACKWARD);
  }

  private static ActivationIndex residual(ActivationLocationType location, int layer) {
    return new ActivationIndex(location, Arrays.asList(null, null), layer, PassType.BACKWARD);
  }

  /**
   * {@code W_O[h] g[q]}: the direction in the head's value space whose dot product with {@code V[k,
   * h]} (times the attention probability) is the traced scalar.
   *
   * @param gradient the downstream gradient {@code [tokens, d_model]}
   */
  static NDArray valueDirection(
      Transformer model, TraceConfig trace, NDArray gradient, NDManager manager) {
    int query = trace.tensorIndices().get(0);
    int head = trace.tensorIndices().get(2);
    NDArray outProjection =
        model.parameter(
            "xf_layers." + trace.layerIndex() + ".attn.out_proj.weight"); // [d_model, heads·d_head]
    NDArray direction = gradient.get(new NDIndex("{}", query)).stopGradient().matMul(outProjection);
    NDArray result = direction.reshape(model.config().nHeads(), -1).get(new NDIndex("{}", head));
    result.attach(manager);
    return result;
  }

  /**
   * The traced scalar from one element's attention probabilities {@code [q, k, heads]} and values.
   */
  static NDArray directEffect(
      NDArray probs, NDArray values, int[] indices, NDArray valueDirection) {
    NDArray probability = probs.get(new NDIndex("{}, {}, {}", indices[0], indices[1], indices[2]));
    NDArray value = values.get(new NDIndex("{}, {}", indices[1], indices[2]));
    return probability.mul(value.mul(valueDirection).sum());
  }
}
