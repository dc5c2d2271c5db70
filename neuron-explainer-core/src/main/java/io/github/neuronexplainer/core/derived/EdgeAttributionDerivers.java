package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.List;

/**
 * "Out edges" (§6.1): many upstream nodes → one downstream subnode {@code
 * config.nodeIndexForAttribution()}. The gradient of the downstream node's attribution {@code act
 * ⊙ stopgrad(∂S/∂act)} w.r.t. the residual stream before it (GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION) is
 * computed analytically (C8 VJPs), then every upstream node's write is projected onto it (C4).
 * Implemented downstream subnodes: MLP neurons and attention V subnodes; Q/K subnodes and
 * autoencoder latents are refused as not implemented.
 *
 * <p>Stateless and thread-safe.
 */
final class EdgeAttributionDerivers {
  private EdgeAttributionDerivers() {}

  private static NodeIndex requireNode(DerivedScalarType dst, DstConfig config) {
    NodeIndex node = config.nodeIndexForAttribution();
    if (node == null) {
      throw new UnsupportedDerivationException(
          dst + " needs DstConfig.nodeIndexForAttribution (the downstream subnode of the edges)");
    }
    if (node.passType() != PassType.FORWARD || node.layerIndex() < 0) {
      throw new UnsupportedDerivationException(
          dst + ": nodeIndexForAttribution must be a FORWARD node with a layer, got " + node);
    }
    if (node.tensorIndices().contains(null)) {
      throw new UnsupportedDerivationException(
          dst + ": nodeIndexForAttribution must name a single scalar (all tensor indices ints)");
    }
    return node;
  }

  /** The residual stream DST before the downstream node and its location. */
  private static DerivedScalarType residualBefore(NodeIndex node, DerivedScalarType dst) {
    return switch (node.nodeType()) {
      case MLP_NEURON -> RESID_POST_ATTN;
      case ATTENTION_HEAD -> {
        if (!(node instanceof AttnSubNodeIndex sub)) {
          throw new UnsupportedDerivationException(
              dst + ": an attention node for attribution must be an AttnSubNodeIndex (Q, K or V)");
        }
        if (sub.qkOrV() != ActivationLocationType.ATTN_VALUE) {
          throw ScalarDerivers.notImplemented(dst); // Q/K subnodes need the softmax VJP
        }
        yield PREVIOUS_LAYER_RESID_POST_MLP;
      }
      default -> throw ScalarDerivers.notImplemented(dst);
    };
  }

  /** GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION (only key = the node's layer). */
  static ScalarDeriver gradOfSingleSubnodeAttribution(DstConfig config) {
    DerivedScalarType dst = GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION;
    NodeIndex node = requireNode(dst, config);
    ModelContext model = config.requireModelContext(dst);
    int layer = node.layerIndex();
    boolean detach = config.detachLayerNormScaleForAttribution();
    DstConfig atLayer =
        config.toBuilder().layerIndices(List.of(layer)).deriveGradients(false).build();
    DerivedScalarType residual = residualBefore(node, dst);
    ScalarSource residualSource = ScalarSource.Derived.of(ScalarDerivers.make(residual, atLayer), PassType.FORWARD);
    List<Integer> idx = node.tensorIndices();
    if (residual == RESID_POST_ATTN) {
      int token = idx.get(0);
      int neuron = idx.get(1);
      return new ScalarDeriver(
          dst,
          atLayer,
          List.of(
              residualSource,
              ScalarSource.Raw.of(ActivationLocationType.MLP_POST_ACT, PassType.BACKWARD),
              ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD)),
          (inputs, l, pass) -> {
            ScalarDerivers.requireForward(dst, pass, "edge attribution gradients");
            NDArray r = inputs.get(0);
            // u[t,:] = grad[t,n]·gelu'(pre[t,n])·Win[:,n]
            NDArray factor =
                inputs.get(1).get(token, neuron).mul(DerivedScalarKernels.geluDerivative(inputs.get(2).get(token, neuron)));
            NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, l, r.getManager());
            NDArray u = r.zerosLike();
            u.set(new NDIndex(token), win.get(new NDIndex(":, " + neuron)).mul(factor));
            NDArray gain = model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, l, r.getManager());
            return DerivedScalarKernels.layerNormVjp(r, gain, u, detach);
          },
          LocationWithinLayer.RESID_POST_ATTN);
    }
    int query = idx.get(0);
    int key = idx.get(1);
    int head = idx.get(2);
    return new ScalarDeriver(
        dst,
        atLayer,
        List.of(
            residualSource,
            ScalarSource.Raw.of(ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES, PassType.BACKWARD),
            ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD)),
        (inputs, l, pass) -> {
          ScalarDerivers.requireForward(dst, pass, "edge attribution gradients");
          NDArray r = inputs.get(0);
          // Only V is attached: dV[key,head,:] = A[query,key,head]·gradZ[query,head,:], then
          // through the value projection of that head and the attention layer norm.
          NDArray dv = inputs.get(1).get(query, head).mul(inputs.get(2).get(query, key, head));
          NDArray wv = model.getWeight(WeightLocationType.ATTN_TO_VALUE, l, r.getManager()).get(head);
          NDArray u = r.zerosLike();
          u.set(new NDIndex(key), wv.matMul(dv));
          NDArray gain = model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, l, r.getManager());
          return DerivedScalarKernels.layerNormVjp(r, gain, u, detach);
        },
        LocationWithinLayer.END_OF_PREV_LAYER);
  }

  /** The four out-edge DSTs: upstream writes projected onto the subnode attribution's gradient. */
  static ScalarDeriver outEdgeAttribution(DerivedScalarType dst, DstConfig config) {
    NodeIndex node = requireNode(dst, config);
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " has no backward pass: build it with derive_gradients=false");
    }
    int layer = node.layerIndex();
    ScalarDeriver grad = gradOfSingleSubnodeAttribution(config);
    LocationWithinLayer location =
        residualBefore(node, dst) == RESID_POST_ATTN
            ? LocationWithinLayer.RESID_POST_ATTN
            : LocationWithinLayer.END_OF_PREV_LAYER;
    ScalarDerivers.FinalResidualGradSource direction =
        new ScalarDerivers.FinalResidualGradSource(
            new ScalarSource.Derived(grad, PassType.FORWARD, new LayerIndexer.Constant(layer)),
            layer,
            location);
    return switch (dst) {
      case MLP_OUT_EDGE_ATTRIBUTION -> ScalarDerivers.nodeWriteToDirection(
          ScalarDerivers.make(MLP_POST_ACT, config),
          dst,
          ScalarDerivers.mlpWriteTensor(config, dst),
          direction);
      case ATTN_OUT_EDGE_ATTRIBUTION -> ScalarDerivers.attentionWriteToDirection(dst, config, direction);
      case ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION -> ScalarDerivers.nodeWriteToDirection(
          ScalarDerivers.onlineLatent(NodeType.AUTOENCODER_LATENT, config),
          dst,
          ScalarDerivers.autoencoderWriteTensor(config, NodeType.AUTOENCODER_LATENT, dst),
          direction);
      case TOKEN_OUT_EDGE_ATTRIBUTION -> ScalarDerivers.residualProjection(
          RESID_POST_EMBEDDING, dst, config, direction);
      default -> throw new IllegalArgumentException(dst + " is not an out-edge DST");
    };
  }
}
