package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;
import java.util.Objects;

/**
 * Where a backward pass starts instead of a loss (the original's {@code TraceConfig}): a node, its
 * pre- or post-activation, whether the layer-norm scale is detached, and for attention heads the
 * trace type (and, for V traces, an optional downstream trace).
 *
 * <p>Immutable and thread-safe; value equality.
 */
public record TraceConfig(
    NodeIndex nodeIndex,
    PreOrPostAct preOrPostAct,
    boolean detachLayerNormScale,
    AttentionTraceType attentionTraceType,
    TraceConfig downstreamTraceConfig) {

  /** The original's global default {@code DETACH_LAYER_NORM_SCALE}. */
  public static final boolean DETACH_LAYER_NORM_SCALE = true;

  public TraceConfig {
    Objects.requireNonNull(nodeIndex, "nodeIndex");
    Objects.requireNonNull(preOrPostAct, "preOrPostAct");
    if (attentionTraceType != null && nodeIndex.nodeType() != NodeType.ATTENTION_HEAD) {
      throw new IllegalArgumentException(
          "attention_trace_type is only allowed for attention heads, not " + nodeIndex.nodeType());
    }
    if (downstreamTraceConfig != null) {
      if (attentionTraceType != AttentionTraceType.V) {
        throw new IllegalArgumentException(
            "downstream_trace_config is only allowed with attention_trace_type V");
      }
      if (downstreamTraceConfig.attentionTraceType() == AttentionTraceType.V) {
        throw new IllegalArgumentException("downstream_trace_config must not itself be a V trace");
      }
    }
  }

  public NodeType nodeType() {
    return nodeIndex.nodeType();
  }

  public int layerIndex() {
    return nodeIndex.layerIndex();
  }

  public PassType passType() {
    return nodeIndex.passType();
  }

  public List<Integer> tensorIndices() {
    return nodeIndex.tensorIndices();
  }

  public int ndim() {
    return nodeIndex.ndim();
  }

  /**
   * The original's {@code TraceConfig.from_activation_index}: PRE for MLP_PRE_ACT and
   * ATTN_QK_LOGITS, POST for MLP_POST_ACT, ATTN_QK_PROBS and ONLINE_AUTOENCODER_LATENT; QK for
   * attention heads. Quirk Q22 (faithful): the ONLINE_MLP_/ONLINE_ATTENTION_ latents are refused.
   *
   * @throws IllegalArgumentException for any other location
   */
  public static TraceConfig fromActivationIndex(ActivationIndex index, boolean detach) {
    PreOrPostAct prePost =
        switch (index.activationLocationType()) {
          case MLP_PRE_ACT, ATTN_QK_LOGITS -> PreOrPostAct.PRE;
          case MLP_POST_ACT, ATTN_QK_PROBS, ONLINE_AUTOENCODER_LATENT -> PreOrPostAct.POST;
          default ->
              throw new IllegalArgumentException(
                  "Cannot trace from "
                      + index.activationLocationType()
                      + "; use MLP_PRE_ACT, MLP_POST_ACT, ATTN_QK_LOGITS, ATTN_QK_PROBS or"
                      + " ONLINE_AUTOENCODER_LATENT");
        };
    NodeIndex node = NodeIndex.fromActivationIndex(index);
    AttentionTraceType traceType =
        index.activationLocationType().nodeType() == NodeType.ATTENTION_HEAD
            ? AttentionTraceType.QK
            : null;
    return new TraceConfig(node, prePost, detach, traceType, null);
  }

  public static TraceConfig fromActivationIndex(ActivationIndex index) {
    return fromActivationIndex(index, DETACH_LAYER_NORM_SCALE);
  }

  /** Convenience: the location of the activation this trace starts from, if it is a raw one. */
  public ActivationLocationType activationLocationType() {
    return switch (nodeType()) {
      case MLP_NEURON ->
          preOrPostAct == PreOrPostAct.PRE
              ? ActivationLocationType.MLP_PRE_ACT
              : ActivationLocationType.MLP_POST_ACT;
      case ATTENTION_HEAD ->
          preOrPostAct == PreOrPostAct.PRE
              ? ActivationLocationType.ATTN_QK_LOGITS
              : ActivationLocationType.ATTN_QK_PROBS;
      case AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_AUTOENCODER_LATENT;
      case MLP_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
      case ATTENTION_AUTOENCODER_LATENT ->
          ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
      default -> throw new UnsupportedOperationException("Cannot trace node type " + nodeType());
    };
  }

  /** The original's {@code MirroredTraceConfig} (camelCase JSON). */
  public record Mirrored(
      NodeIndex.Mirrored nodeIndex,
      String preOrPostAct,
      boolean detachLayerNormScale,
      String attentionTraceType,
      Mirrored downstreamTraceConfig) {
    public TraceConfig toTraceConfig() {
      return new TraceConfig(
          nodeIndex.toNodeIndex(),
          PreOrPostAct.fromValue(preOrPostAct),
          detachLayerNormScale,
          attentionTraceType == null ? null : AttentionTraceType.fromValue(attentionTraceType),
          downstreamTraceConfig == null ? null : downstreamTraceConfig.toTraceConfig());
    }
  }

  public Mirrored toMirrored() {
    return new Mirrored(
        nodeIndex.toMirrored(),
        preOrPostAct.value(),
        detachLayerNormScale,
        attentionTraceType == null ? null : attentionTraceType.value(),
        downstreamTraceConfig == null ? null : downstreamTraceConfig.toMirrored());
  }
}
