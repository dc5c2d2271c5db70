package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * "Out edges" (§6.1): many upstream nodes → one downstream subnode {@code
 * config.nodeIndexForAttribution()}. The gradient of the downstream node's attribution {@code act ⊙
 * stopgrad(∂S/∂act)} w.r.t. the residual stream before it (GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION) is
 * computed analytically (C8 VJPs), then every upstream node's write is projected onto it (C4).
 * Downstream subnodes: MLP neurons, attention Q, K and V subnodes, and the latents of MLP
 * (MLP_POST_ACT, RESID_DELTA_MLP) and attention (RESID_DELTA_ATTN) autoencoders.
 *
 * <p>Stateless and thread-safe.
 */
final class EdgeAttributionDerivers {
  private EdgeAttributionDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    factories.put(
        GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION,
        (dst, config) -> gradOfSingleSubnodeAttribution(config));
    for (DerivedScalarType outEdge :
        List.of(
            MLP_OUT_EDGE_ATTRIBUTION,
            ATTN_OUT_EDGE_ATTRIBUTION,
            ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION,
            TOKEN_OUT_EDGE_ATTRIBUTION)) {
      factories.put(outEdge, EdgeAttributionDerivers::outEdgeAttribution);
    }
    factories.put(SINGLE_NODE_WRITE, (dst, config) -> singleNodeWrite(config));
    factories.put(
        SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD,
        (dst, config) -> singleNodeWriteToFinalResidualGrad(config));
    for (DerivedScalarType inEdge :
        List.of(
            ATTN_QUERY_IN_EDGE_ATTRIBUTION,
            ATTN_KEY_IN_EDGE_ATTRIBUTION,
            ATTN_VALUE_IN_EDGE_ATTRIBUTION,
            MLP_IN_EDGE_ATTRIBUTION,
            ONLINE_AUTOENCODER_IN_EDGE_ATTRIBUTION,
            ATTN_QUERY_IN_EDGE_ACTIVATION,
            ATTN_KEY_IN_EDGE_ACTIVATION,
            MLP_IN_EDGE_ACTIVATION,
            ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION)) {
      factories.put(inEdge, EdgeAttributionDerivers::inEdge);
    }
    return factories;
  }

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

  /** The residual stream DST before the downstream node (C5). */
  private static DerivedScalarType residualBefore(
      NodeIndex node, DerivedScalarType dst, DstConfig config) {
    if (node.nodeType() == NodeType.ATTENTION_HEAD && !(node instanceof AttnSubNodeIndex)) {
      throw new UnsupportedDerivationException(
          dst + ": an attention node for attribution must be an AttnSubNodeIndex (Q, K or V)");
    }
    return DeriverSupport.previousResidualDst(node.nodeType(), config);
  }

  private static LocationWithinLayer locationOf(DerivedScalarType residual) {
    return residual == RESID_POST_ATTN
        ? LocationWithinLayer.RESID_POST_ATTN
        : LocationWithinLayer.END_OF_PREV_LAYER;
  }

  /**
   * GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION (only key = the node's layer): the VJP of the downstream
   * subnode's activation, with its stop-gradient loss gradient as the cotangent, back to the
   * residual stream before it. MLP neurons go through GELU and the MLP layer norm; attention Q, K
   * and V subnodes through that part of the attention only (the original detaches the others);
   * autoencoder latents through their autoencoder's input (the MLP, or the whole attention layer
   * for a RESID_DELTA_ATTN autoencoder) and the ReLU-type activation's 0/1 derivative.
   */
  private static ScalarDeriver gradOfSingleSubnodeAttribution(DstConfig config) {
    DerivedScalarType dst = GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION;
    NodeIndex node = requireNode(dst, config);
    ModelContext model = config.requireModelContext(dst);
    int layer = node.layerIndex();
    boolean detach = config.detachLayerNormScaleForAttribution();
    DstConfig atLayer =
        config.toBuilder().layerIndices(List.of(layer)).deriveGradients(false).build();
    DerivedScalarType residual = residualBefore(node, dst, config);
    ScalarSource residualSource =
        ScalarSource.Derived.of(
            ScalarDerivers.makeScalarDeriver(residual, atLayer), PassType.FORWARD);
    List<Integer> idx = node.tensorIndices();
    return switch (node.nodeType()) {
      case MLP_NEURON -> {
        int token = idx.get(0);
        int neuron = idx.get(1);
        yield new ScalarDeriver(
            dst,
            atLayer,
            List.of(
                residualSource,
                ScalarSource.Raw.of(ActivationLocationType.MLP_POST_ACT, PassType.BACKWARD),
                ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD)),
            (inputs, l, pass) -> {
              DeriverSupport.requireForward(dst, pass, "edge attribution gradients");
              NDArray r = inputs.get(0);
              NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, l, r.getManager());
              NDArray cotangent =
                  r.getManager().zeros(new Shape(win.getShape().get(1)), r.getDataType());
              cotangent.set(new NDIndex(neuron), inputs.get(1).get(token, neuron));
              return LayerDerivatives.mlpVjp(model, l, r, inputs.get(2), token, cotangent, detach);
            },
            LocationWithinLayer.RESID_POST_ATTN);
      }
      case ATTENTION_HEAD ->
          attentionSubnodeAttributionGrad(
              dst, atLayer, model, residualSource, (AttnSubNodeIndex) node, detach);
      default -> latentAttributionGrad(dst, atLayer, model, residual, residualSource, node, detach);
    };
  }

  private static ScalarDeriver attentionSubnodeAttributionGrad(
      DerivedScalarType dst,
      DstConfig atLayer,
      ModelContext model,
      ScalarSource residualSource,
      AttnSubNodeIndex node,
      boolean detach) {
    List<Integer> idx = node.tensorIndices();
    int query = idx.get(0);
    int key = idx.get(1);
    int head = idx.get(2);
    ActivationLocationType part = node.qkOrV();
    if (part == ActivationLocationType.ATTN_VALUE) {
      return new ScalarDeriver(
          dst,
          atLayer,
          List.of(
              residualSource,
              ScalarSource.Raw.of(
                  ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES, PassType.BACKWARD),
              ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD)),
          (inputs, l, pass) -> {
            DeriverSupport.requireForward(dst, pass, "edge attribution gradients");
            NDArray r = inputs.get(0);
            // Only V is attached: dV[key,head,:] = A[query,key,head]·gradZ[query,head,:], then
            // through the value projection of that head and the attention layer norm.
            NDArray dv = inputs.get(1).get(query, head).mul(inputs.get(2).get(query, key, head));
            NDArray wv =
                model.getWeight(WeightLocationType.ATTN_TO_VALUE, l, r.getManager()).get(head);
            NDArray u = r.zerosLike();
            u.set(new NDIndex(key), wv.matMul(dv));
            NDArray gain =
                model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, l, r.getManager());
            return DerivedScalarKernels.layerNormVjp(
                r, gain, (float) model.layerNormEpsilon(), u, detach);
          },
          LocationWithinLayer.END_OF_PREV_LAYER);
    }
    // Q or K: the attribution is A[q,k,h]·gradA[q,k,h], differentiated through that side only.
    return new ScalarDeriver(
        dst,
        atLayer,
        List.of(
            residualSource,
            ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.BACKWARD),
            ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
            ScalarSource.Raw.of(ActivationLocationType.ATTN_QUERY, PassType.FORWARD),
            ScalarSource.Raw.of(ActivationLocationType.ATTN_KEY, PassType.FORWARD)),
        (inputs, l, pass) -> {
          DeriverSupport.requireForward(dst, pass, "edge attribution gradients");
          NDArray probs = inputs.get(2);
          NDArray dProbs = probs.zerosLike();
          dProbs.set(
              new NDIndex(query + ", " + key + ", " + head), inputs.get(1).get(query, key, head));
          NDArray du =
              LayerDerivatives.attentionVjp(
                  model, l, probs, inputs.get(3), inputs.get(4), null, dProbs, null, part);
          NDArray r = inputs.get(0);
          NDArray gain =
              model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, l, r.getManager());
          return DerivedScalarKernels.layerNormVjp(
              r, gain, (float) model.layerNormEpsilon(), du, detach);
        },
        LocationWithinLayer.END_OF_PREV_LAYER);
  }

  private static ScalarDeriver latentAttributionGrad(
      DerivedScalarType dst,
      DstConfig atLayer,
      ModelContext model,
      DerivedScalarType residual,
      ScalarSource residualSource,
      NodeIndex node,
      boolean detach) {
    NodeType kind = node.nodeType();
    var context = DeriverSupport.requireAutoencoderContext(atLayer, kind, dst);
    ActivationLocationType latents = DeriverSupport.onlineLatentLocation(kind);
    int token = node.tensorIndices().get(0);
    int latent = node.tensorIndices().get(1);
    List<ScalarSource> sources =
        new ArrayList<>(
            List.of(
                residualSource,
                ScalarSource.Raw.of(latents, PassType.FORWARD),
                ScalarSource.Raw.of(latents, PassType.BACKWARD)));
    sources.addAll(LayerDerivatives.latentVjpSources(context));
    return new ScalarDeriver(
        dst,
        atLayer,
        sources,
        (inputs, l, pass) -> {
          DeriverSupport.requireForward(dst, pass, "edge attribution gradients");
          NDArray z = inputs.get(1).get(token, latent);
          NDArray factor = inputs.get(2).get(token, latent).mul(LayerDerivatives.activeLatent(z));
          return LayerDerivatives.latentVjp(
              model,
              context,
              l,
              inputs.get(0),
              inputs.subList(3, inputs.size()),
              token,
              latent,
              factor,
              detach);
        },
        locationOf(residual));
  }

  /** The four out-edge DSTs: upstream writes projected onto the subnode attribution's gradient. */
  private static ScalarDeriver outEdgeAttribution(DerivedScalarType dst, DstConfig config) {
    NodeIndex node = requireNode(dst, config);
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " has no backward pass: build it with derive_gradients=false");
    }
    int layer = node.layerIndex();
    ScalarDeriver grad = gradOfSingleSubnodeAttribution(config);
    LocationWithinLayer location = locationOf(residualBefore(node, dst, config));
    DeriverSupport.FinalResidualGradSource direction =
        new DeriverSupport.FinalResidualGradSource(
            new ScalarSource.Derived(grad, PassType.FORWARD, new LayerIndexer.Constant(layer)),
            layer,
            location);
    return switch (dst) {
      case MLP_OUT_EDGE_ATTRIBUTION ->
          DeriverSupport.nodeWriteToDirection(
              ScalarDerivers.makeScalarDeriver(MLP_POST_ACT, config),
              dst,
              DeriverSupport.mlpWriteTensor(config, dst),
              direction);
      case ATTN_OUT_EDGE_ATTRIBUTION ->
          DeriverSupport.attentionWriteToDirection(dst, config, direction);
      case ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION ->
          DeriverSupport.nodeWriteToDirection(
              DeriverSupport.onlineLatent(NodeType.AUTOENCODER_LATENT, config),
              dst,
              DeriverSupport.autoencoderWriteTensor(config, NodeType.AUTOENCODER_LATENT, dst),
              direction);
      case TOKEN_OUT_EDGE_ATTRIBUTION ->
          DeriverSupport.residualProjection(
              ScalarDerivers.makeScalarDeriver(RESID_POST_EMBEDDING, config), dst, direction);
      default -> throw new IllegalArgumentException(dst + " is not an out-edge DST");
    };
  }

  // ---------------------------------------------------------------- in edges (§6.2, §6.3)

  /** The upstream node's location (for precedence). */
  private static LocationWithinLayer upstreamLocation(
      NodeIndex node, DstConfig config, DerivedScalarType dst) {
    return switch (node.nodeType()) {
      case ATTENTION_HEAD -> LocationWithinLayer.ATTN;
      case MLP_NEURON -> LocationWithinLayer.MLP;
      case AUTOENCODER_LATENT, MLP_AUTOENCODER_LATENT, ATTENTION_AUTOENCODER_LATENT -> {
        var context = DeriverSupport.requireAutoencoderContext(config, node.nodeType(), dst);
        yield context.inputLocation() == ActivationLocationType.RESID_DELTA_ATTN
            ? LocationWithinLayer.ATTN
            : LocationWithinLayer.MLP;
      }
      default ->
          throw new UnsupportedDerivationException(
              dst
                  + ": single-node writes exist for attention heads, MLP neurons and autoencoder"
                  + " latents, not "
                  + node.nodeType());
    };
  }

  /**
   * SINGLE_NODE_WRITE (§6.2): the residual write of the upstream node {@code
   * nodeIndexForAttribution} (only key = its layer), all zeros except the row of its (query) token.
   * Quirk Q10 fixed: the zeros have the activation's dtype.
   */
  private static ScalarDeriver singleNodeWrite(DstConfig config) {
    DerivedScalarType dst = SINGLE_NODE_WRITE;
    NodeIndex node = requireNode(dst, config);
    ModelContext model = config.requireModelContext(dst);
    LocationWithinLayer location = upstreamLocation(node, config, dst);
    DstConfig atLayer =
        config.toBuilder().layerIndices(List.of(node.layerIndex())).deriveGradients(false).build();
    List<Integer> idx = node.tensorIndices();
    int token = idx.get(0);
    switch (node.nodeType()) {
      case ATTENTION_HEAD -> {
        int key = idx.get(1);
        int head = idx.get(2);
        return new ScalarDeriver(
            dst,
            atLayer,
            List.of(
                ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.ATTN_VALUE, PassType.FORWARD)),
            (inputs, l, pass) -> {
              DeriverSupport.requireForward(dst, pass, "single-node write");
              NDArray values = inputs.get(1);
              NDArray wo =
                  model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, l, values.getManager());
              NDArray w =
                  values
                      .get(key, head)
                      .matMul(wo.get(head))
                      .mul(inputs.get(0).get(token, key, head));
              return rowOnly(values.getShape().get(0), wo.getShape().get(2), token, w);
            },
            location);
      }
      case MLP_NEURON -> {
        int neuron = idx.get(1);
        return ScalarDerivers.makeScalarDeriver(MLP_POST_ACT, atLayer)
            .applyLayerwiseTransform(
                dst,
                (inputs, l, pass) -> {
                  NDArray a = inputs.get(0);
                  NDArray wout =
                      model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, l, a.getManager());
                  NDArray w = wout.get(neuron).mul(a.get(token, neuron));
                  return rowOnly(a.getShape().get(0), wout.getShape().get(1), token, w);
                });
      }
      default -> {
        int latent = idx.get(1);
        NodeType kind = node.nodeType();
        DeriverSupport.WriteTensor write =
            DeriverSupport.autoencoderWriteTensor(atLayer, kind, dst);
        return DeriverSupport.onlineLatent(kind, atLayer)
            .applyLayerwiseTransform(
                dst,
                (inputs, l, pass) -> {
                  NDArray z = inputs.get(0);
                  NDArray wae = write.at(l, z);
                  NDArray w = wae.get(latent).mul(z.get(token, latent));
                  return rowOnly(z.getShape().get(0), wae.getShape().get(1), token, w);
                });
      }
    }
  }

  private static NDArray rowOnly(long tokens, long channels, int token, NDArray row) {
    NDArray out =
        row.getManager().zeros(new ai.djl.ndarray.types.Shape(tokens, channels), row.getDataType());
    out.set(new NDIndex(token), row);
    return out;
  }

  /** SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD: the node's write projected onto g (C3 G_bw). */
  private static ScalarDeriver singleNodeWriteToFinalResidualGrad(DstConfig config) {
    DerivedScalarType dst = SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD;
    NodeIndex node = requireNode(dst, config);
    LocationWithinLayer location = upstreamLocation(node, config, dst);
    DeriverSupport.FinalResidualGradSource g = DeriverSupport.finalResidualGrad(config, dst);
    return singleNodeWrite(config)
        .applyLayerwiseTransformWithOther(
            dst,
            g.source(),
            (inputs, l, pass) -> {
              DeriverSupport.requireForward(dst, pass, "direct effects have no gradient");
              NDArray out = DerivedScalarKernels.residualProjection(inputs.get(0), inputs.get(1));
              return DeriverSupport.precedes(l, Optional.of(location), g.layer(), g.location())
                  ? out
                  : out.zerosLike();
            });
  }

  /**
   * In-edge attribution and activation DSTs (§6.2, §6.3): the JVP of the downstream activation
   * (times its stop-gradient loss gradient for attributions) at every layer, in the direction of
   * the upstream node's write; zero where the upstream node does not precede. The downstream
   * activations' other inputs (attention probabilities, keys, queries, pre-activations, latents)
   * are read from the raw store instead of being recomputed from the residual stream.
   */
  private static ScalarDeriver inEdge(DerivedScalarType dst, DstConfig config) {
    NodeIndex node = requireNode(dst, config);
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " has no backward pass: build it with derive_gradients=false");
    }
    ModelContext model = config.requireModelContext(dst);
    int upstreamLayer = node.layerIndex();
    Optional<LocationWithinLayer> upstreamLocation =
        Optional.of(upstreamLocation(node, config, dst));
    boolean attribution =
        switch (dst) {
          case ATTN_QUERY_IN_EDGE_ACTIVATION,
              ATTN_KEY_IN_EDGE_ACTIVATION,
              MLP_IN_EDGE_ACTIVATION,
              ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION ->
              false;
          default -> true;
        };
    // Edge activations always detach the layer-norm scale (hard-coded in the original).
    boolean detach = !attribution || config.detachLayerNormScaleForAttribution();
    ScalarSource write =
        new ScalarSource.Derived(
            singleNodeWrite(config), PassType.FORWARD, new LayerIndexer.Constant(upstreamLayer));
    DstConfig inner = config.toBuilder().deriveGradients(false).build();
    switch (dst) {
      case MLP_IN_EDGE_ATTRIBUTION, MLP_IN_EDGE_ACTIVATION -> {
        List<ScalarSource> sources =
            List.of(
                ScalarSource.Derived.of(
                    ScalarDerivers.makeScalarDeriver(RESID_POST_ATTN, inner), PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.MLP_POST_ACT, PassType.BACKWARD),
                write);
        return new ScalarDeriver(
            dst,
            config,
            attribution ? sources : List.of(sources.get(0), sources.get(1), sources.get(3)),
            (inputs, l, pass) -> {
              DeriverSupport.requireForward(dst, pass, "edge values have no gradient");
              NDArray pre = inputs.get(1);
              if (!DeriverSupport.precedes(
                  upstreamLayer, upstreamLocation, l, LocationWithinLayer.RESID_POST_ATTN)) {
                return pre.zerosLike();
              }
              NDArray dPost =
                  LayerDerivatives.mlpPostJvp(
                      model, l, inputs.get(0), pre, inputs.get(inputs.size() - 1), detach);
              return attribution ? dPost.mul(inputs.get(2)) : dPost;
            },
            LocationWithinLayer.MLP);
      }
      case ONLINE_AUTOENCODER_IN_EDGE_ATTRIBUTION, ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION -> {
        var context =
            DeriverSupport.requireAutoencoderContext(config, NodeType.AUTOENCODER_LATENT, dst);
        ActivationLocationType input = context.inputLocation();
        if (input == ActivationLocationType.RESID_DELTA_ATTN) {
          return attentionAutoencoderInEdge(
              dst,
              config,
              inner,
              model,
              context,
              write,
              upstreamLayer,
              upstreamLocation,
              attribution,
              detach);
        }
        if (input != ActivationLocationType.MLP_POST_ACT
            && input != ActivationLocationType.RESID_DELTA_MLP) {
          throw new UnsupportedDerivationException(
              dst + ": no residual stream before an autoencoder reading " + input);
        }
        List<ScalarSource> sources =
            List.of(
                ScalarSource.Derived.of(
                    ScalarDerivers.makeScalarDeriver(RESID_POST_ATTN, inner), PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD),
                ScalarSource.Raw.of(
                    ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.FORWARD),
                ScalarSource.Raw.of(
                    ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.BACKWARD),
                write);
        return new ScalarDeriver(
            dst,
            config,
            attribution
                ? sources
                : List.of(sources.get(0), sources.get(1), sources.get(2), sources.get(4)),
            (inputs, l, pass) -> {
              DeriverSupport.requireForward(dst, pass, "edge values have no gradient");
              NDArray latents = inputs.get(2);
              if (!DeriverSupport.precedes(
                  upstreamLayer, upstreamLocation, l, LocationWithinLayer.RESID_POST_ATTN)) {
                return latents.zerosLike();
              }
              NDArray dInput =
                  LayerDerivatives.mlpPostJvp(
                      model,
                      l,
                      inputs.get(0),
                      inputs.get(1),
                      inputs.get(inputs.size() - 1),
                      detach);
              if (input == ActivationLocationType.RESID_DELTA_MLP) {
                dInput =
                    dInput.matMul(
                        model.getWeight(
                            WeightLocationType.MLP_TO_RESIDUAL, l, dInput.getManager()));
              }
              NDArray encoder = context.autoencoder(l).encoderWeight(dInput.getManager());
              NDArray dz =
                  dInput.matMul(encoder.transpose()).mul(LayerDerivatives.activeLatent(latents));
              return attribution ? dz.mul(inputs.get(3)) : dz;
            },
            LocationWithinLayer.MLP);
      }
      default -> {
        return attentionInEdge(
            dst, config, inner, model, write, upstreamLayer, upstreamLocation, attribution, detach);
      }
    }
  }

  /**
   * In edges into the latents of an attention (RESID_DELTA_ATTN) autoencoder: the JVP of the
   * attention layer's output through Q, K and V for the upstream write, encoded and masked by the
   * active latents.
   */
  private static ScalarDeriver attentionAutoencoderInEdge(
      DerivedScalarType dst,
      DstConfig config,
      DstConfig inner,
      ModelContext model,
      io.github.neuronexplainer.core.autoencoder.AutoencoderContext context,
      ScalarSource write,
      int upstreamLayer,
      Optional<LocationWithinLayer> upstreamLocation,
      boolean attribution,
      boolean detach) {
    List<ScalarSource> sources =
        new ArrayList<>(
            List.of(
                ScalarSource.Derived.of(
                    ScalarDerivers.makeScalarDeriver(PREVIOUS_LAYER_RESID_POST_MLP, inner),
                    PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.ATTN_QUERY, PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.ATTN_KEY, PassType.FORWARD),
                ScalarSource.Raw.of(ActivationLocationType.ATTN_VALUE, PassType.FORWARD),
                ScalarSource.Raw.of(
                    ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.FORWARD)));
    if (attribution) {
      sources.add(
          ScalarSource.Raw.of(ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.BACKWARD));
    }
    sources.add(write);
    return new ScalarDeriver(
        dst,
        config,
        sources,
        (inputs, l, pass) -> {
          DeriverSupport.requireForward(dst, pass, "edge values have no gradient");
          NDArray latents = inputs.get(5);
          if (!DeriverSupport.precedes(
              upstreamLayer, upstreamLocation, l, LocationWithinLayer.END_OF_PREV_LAYER)) {
            return latents.zerosLike();
          }
          NDArray dx = preAttentionInputChange(model, l, inputs, detach);
          NDArray dOut =
              LayerDerivatives.attentionJvp(
                  model, l, inputs.get(1), inputs.get(2), inputs.get(3), inputs.get(4), dx);
          NDArray encoder = context.autoencoder(l).encoderWeight(dOut.getManager());
          NDArray dz = dOut.matMul(encoder.transpose()).mul(LayerDerivatives.activeLatent(latents));
          return attribution ? dz.mul(inputs.get(6)) : dz;
        },
        LocationWithinLayer.ATTN);
  }

  private static ScalarDeriver attentionInEdge(
      DerivedScalarType dst,
      DstConfig config,
      DstConfig inner,
      ModelContext model,
      ScalarSource write,
      int upstreamLayer,
      Optional<LocationWithinLayer> upstreamLocation,
      boolean attribution,
      boolean detach) {
    ActivationLocationType part =
        switch (dst) {
          case ATTN_QUERY_IN_EDGE_ATTRIBUTION, ATTN_QUERY_IN_EDGE_ACTIVATION ->
              ActivationLocationType.ATTN_QUERY;
          case ATTN_KEY_IN_EDGE_ATTRIBUTION, ATTN_KEY_IN_EDGE_ACTIVATION ->
              ActivationLocationType.ATTN_KEY;
          case ATTN_VALUE_IN_EDGE_ATTRIBUTION -> ActivationLocationType.ATTN_VALUE;
          default -> throw new IllegalArgumentException(dst + " is not an in-edge DST");
        };
    // The other side of the q·k product, or the value gradient for V.
    ActivationLocationType otherLocation =
        switch (part) {
          case ATTN_QUERY -> ActivationLocationType.ATTN_KEY;
          case ATTN_KEY -> ActivationLocationType.ATTN_QUERY;
          default -> ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES;
        };
    PassType otherPass =
        part == ActivationLocationType.ATTN_VALUE ? PassType.BACKWARD : PassType.FORWARD;
    WeightLocationType projection =
        switch (part) {
          case ATTN_QUERY -> WeightLocationType.ATTN_TO_QUERY;
          case ATTN_KEY -> WeightLocationType.ATTN_TO_KEY;
          default -> WeightLocationType.ATTN_TO_VALUE;
        };
    List<ScalarSource> sources = new ArrayList<>();
    sources.add(
        ScalarSource.Derived.of(
            ScalarDerivers.makeScalarDeriver(PREVIOUS_LAYER_RESID_POST_MLP, inner),
            PassType.FORWARD));
    sources.add(ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD));
    sources.add(ScalarSource.Raw.of(otherLocation, otherPass));
    if (attribution && part != ActivationLocationType.ATTN_VALUE) {
      sources.add(ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.BACKWARD));
    }
    sources.add(write);
    float qkScale = model.queryKeyScale();
    return new ScalarDeriver(
        dst,
        config,
        sources,
        (inputs, l, pass) -> {
          DeriverSupport.requireForward(dst, pass, "edge values have no gradient");
          NDArray probs = inputs.get(1);
          if (!DeriverSupport.precedes(
              upstreamLayer, upstreamLocation, l, LocationWithinLayer.END_OF_PREV_LAYER)) {
            return probs.zerosLike();
          }
          NDArray dx = preAttentionInputChange(model, l, inputs, detach);
          NDArray weight = model.getWeight(projection, l, dx.getManager());
          NDArray change = DerivedScalarKernels.perHeadProjection(dx, weight); // (T, H, e)
          NDArray other = inputs.get(2);
          if (part == ActivationLocationType.ATTN_VALUE) {
            // out[t,u,h] = A[t,u,h]·Σ_e dV[u,h,e]·gradZ[t,h,e]
            return probs.mul(DerivedScalarKernels.maskedPairProducts(other, change));
          }
          NDArray scaled = change.mul(qkScale);
          NDArray dLogits =
              part == ActivationLocationType.ATTN_QUERY
                  ? DerivedScalarKernels.maskedPairProducts(scaled, other)
                  : DerivedScalarKernels.maskedPairProducts(other, scaled);
          NDArray dProbs = DerivedScalarKernels.softmaxJvp(probs, dLogits);
          return attribution ? dProbs.mul(inputs.get(3)) : dProbs;
        },
        LocationWithinLayer.ATTN);
  }

  /**
   * How the upstream node's write (the deriver's last input) changes the input of layer {@code l}'s
   * attention: the pre-attention layer norm's Jacobian, taken at the residual stream (the first
   * input), applied to the write.
   */
  private static NDArray preAttentionInputChange(
      ModelContext model, int l, List<NDArray> inputs, boolean detach) {
    NDArray residual = inputs.get(0);
    NDArray gain =
        model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, l, residual.getManager());
    return DerivedScalarKernels.layerNormJvp(
        residual, gain, (float) model.layerNormEpsilon(), inputs.get(inputs.size() - 1), detach);
  }
}
