package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * C3 G_rc and the {@code *_TO_FINAL_ACTIVATION_RESIDUAL_GRAD} DSTs (§5.5): the gradient of the
 * traced activation w.r.t. the residual stream before it, computed analytically from forward
 * activations (no backward pass), then the §4.5 kernels onto it. Implemented traces: MLP neurons
 * (PRE/POST), attention heads (PRE/POST with QK, Q or K) and autoencoder latents (PRE/POST, through
 * the MLP or the whole attention layer, {@link LayerDerivatives#latentVjp}). The traced node's own
 * inputs (MLP pre-activations, attention probabilities, queries, keys and values, latents) are read
 * from the raw store rather than recomputed.
 *
 * <p>Stateless and thread-safe.
 */
final class ReconstitutedGradientDerivers {
  private ReconstitutedGradientDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    for (DerivedScalarType dst :
        List.of(
            MLP_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
            UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
            RESID_POST_EMBEDDING_PROJ_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
            ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
            ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
            ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD)) {
      factories.put(dst, ReconstitutedGradientDerivers::writeToFinalActivationResidualGrad);
    }
    return factories;
  }

  /** G_rc as a direction source at (trace layer, location of the residual before the node). */
  private static DeriverSupport.FinalResidualGradSource reconstitutedGradient(
      DerivedScalarType dst, DstConfig config) {
    TraceConfig trace = config.traceConfig();
    if (trace == null) {
      throw new UnsupportedDerivationException(
          dst
              + " recomputes the gradient from the forward pass and needs a trace_config"
              + " (DstConfig.builder().traceConfig(...)); with a loss use the"
              + " *_TO_FINAL_RESIDUAL_GRAD variant");
    }
    // The original asks for the single autoencoder context (fails with several configured).
    if (config.autoencoderContext() != null || config.multiAutoencoderContext() != null) {
      config.autoencoderContext(null);
    }
    if (trace.tensorIndices().contains(null)) {
      throw new UnsupportedDerivationException(
          dst
              + ": the trace must name a single activation (all tensor indices ints), got "
              + trace.tensorIndices());
    }
    ModelContext model = config.requireModelContext(dst);
    int layer = trace.layerIndex();
    boolean detach = trace.detachLayerNormScale();
    boolean post = trace.preOrPostAct() == PreOrPostAct.POST;
    DstConfig atLayer =
        DstConfig.builder().modelContext(model).layerIndices(List.of(layer)).build();
    List<Integer> idx = trace.tensorIndices();
    ScalarDeriver gradient;
    LocationWithinLayer location;
    if (trace.nodeType() == NodeType.MLP_NEURON) {
      int token = idx.get(0);
      int neuron = idx.get(1);
      location = LocationWithinLayer.RESID_POST_ATTN;
      gradient =
          new ScalarDeriver(
              RESID_POST_ATTN,
              atLayer,
              List.of(
                  ScalarSource.Derived.of(
                      ScalarDerivers.makeScalarDeriver(RESID_POST_ATTN, atLayer), PassType.FORWARD),
                  ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD)),
              (inputs, l, pass) -> {
                NDArray r = inputs.get(0);
                NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, l, r.getManager());
                NDArray row = win.get(new NDIndex(":, " + neuron));
                if (post) {
                  row = row.mul(TransformerMath.geluDerivative(inputs.get(1).get(token, neuron)));
                }
                NDArray u = r.zerosLike();
                u.set(new NDIndex(token), row);
                NDArray gain =
                    model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, l, r.getManager());
                return DerivedScalarKernels.layerNormVjp(
                    r, gain, (float) model.layerNormEpsilon(), u, detach);
              },
              location);
    } else if (trace.nodeType() == NodeType.ATTENTION_HEAD) {
      AttentionTraceType type = trace.attentionTraceType();
      if (type == null || type == AttentionTraceType.V) {
        throw new UnsupportedDerivationException(
            dst
                + ": an attention trace for a reconstituted gradient needs trace type QK, Q or K, got "
                + type);
      }
      int query = idx.get(0);
      int key = idx.get(1);
      int head = idx.get(2);
      float scale = model.queryKeyScale();
      location = LocationWithinLayer.END_OF_PREV_LAYER;
      gradient =
          new ScalarDeriver(
              PREVIOUS_LAYER_RESID_POST_MLP,
              atLayer,
              List.of(
                  ScalarSource.Derived.of(
                      ScalarDerivers.makeScalarDeriver(PREVIOUS_LAYER_RESID_POST_MLP, atLayer),
                      PassType.FORWARD),
                  ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
                  ScalarSource.Raw.of(ActivationLocationType.ATTN_QUERY, PassType.FORWARD),
                  ScalarSource.Raw.of(ActivationLocationType.ATTN_KEY, PassType.FORWARD)),
              (inputs, l, pass) -> {
                NDArray r = inputs.get(0);
                NDArray probs = inputs.get(1);
                NDArray oneHot = probs.zerosLike();
                oneHot.set(new NDIndex(query + "," + key + "," + head), 1f);
                // d(scalar)/d(logits): the softmax VJP for POST, the one-hot itself for PRE.
                NDArray dLogits = post ? DerivedScalarKernels.softmaxJvp(probs, oneHot) : oneHot;
                NDArray dx = r.zerosLike();
                if (type != AttentionTraceType.K) {
                  // dQ[t,h,:] = c·Σ_u dLg[t,u,h]·K[u,h,:]
                  NDArray dq =
                      DerivedScalarKernels.headwiseProducts(dLogits, inputs.get(3), false)
                          .mul(scale);
                  dx =
                      dx.add(
                          DerivedScalarKernels.perHeadBackProjection(
                              dq,
                              model.getWeight(
                                  WeightLocationType.ATTN_TO_QUERY, l, r.getManager())));
                }
                if (type != AttentionTraceType.Q) {
                  // dK[u,h,:] = c·Σ_t dLg[t,u,h]·Q[t,h,:]
                  NDArray dk =
                      DerivedScalarKernels.headwiseProducts(dLogits, inputs.get(2), true)
                          .mul(scale);
                  dx =
                      dx.add(
                          DerivedScalarKernels.perHeadBackProjection(
                              dk,
                              model.getWeight(WeightLocationType.ATTN_TO_KEY, l, r.getManager())));
                }
                NDArray gain =
                    model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, l, r.getManager());
                return DerivedScalarKernels.layerNormVjp(
                    r, gain, (float) model.layerNormEpsilon(), dx, detach);
              },
              location);
    } else if (trace.nodeType().isAutoencoderLatent()) {
      NodeType kind = trace.nodeType();
      AutoencoderContext context = DeriverSupport.requireAutoencoderContext(config, kind, dst);
      DerivedScalarType residual = DeriverSupport.previousResidualDst(kind, config);
      int token = idx.get(0);
      int latent = idx.get(1);
      location =
          residual == RESID_POST_ATTN
              ? LocationWithinLayer.RESID_POST_ATTN
              : LocationWithinLayer.END_OF_PREV_LAYER;
      List<ScalarSource> sources =
          new java.util.ArrayList<>(
              List.of(
                  ScalarSource.Derived.of(
                      ScalarDerivers.makeScalarDeriver(residual, atLayer), PassType.FORWARD),
                  ScalarSource.Raw.of(
                      DeriverSupport.onlineLatentLocation(kind), PassType.FORWARD)));
      sources.addAll(LayerDerivatives.latentVjpSources(context));
      gradient =
          new ScalarDeriver(
              residual,
              atLayer,
              sources,
              (inputs, l, pass) -> {
                NDArray r = inputs.get(0);
                // d(latent)/d(pre-activation): φ' for POST, 1 for PRE.
                NDArray factor =
                    post
                        ? LayerDerivatives.activeLatent(inputs.get(1).get(token, latent))
                        : TransformerMath.constant(r, 1f);
                return LayerDerivatives.latentVjp(
                    model,
                    context,
                    l,
                    r,
                    inputs.subList(2, inputs.size()),
                    token,
                    latent,
                    factor,
                    detach);
              },
              location);
    } else {
      throw new UnsupportedDerivationException(
          dst
              + ": a reconstituted gradient exists for MLP neuron, attention and autoencoder latent traces, not "
              + trace.nodeType());
    }
    return new DeriverSupport.FinalResidualGradSource(
        new ScalarSource.Derived(gradient, PassType.FORWARD, new LayerIndexer.Constant(layer)),
        layer,
        location);
  }

  /** The §5.5 DSTs: the §4.5 kernels onto G_rc. */
  private static ScalarDeriver writeToFinalActivationResidualGrad(
      DerivedScalarType dst, DstConfig config) {
    dst.autoencoderNodeType()
        .ifPresent(kind -> DeriverSupport.requireAutoencoderContext(config, kind, dst));
    DeriverSupport.FinalResidualGradSource g = reconstitutedGradient(dst, config);
    return switch (dst) {
      case MLP_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD ->
          DeriverSupport.nodeWriteToDirection(
              ScalarDerivers.makeScalarDeriver(MLP_POST_ACT, config),
              dst,
              DeriverSupport.mlpWriteTensor(config, dst),
              g);
      case UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD ->
          DeriverSupport.attentionWriteToDirection(dst, config, g);
      case RESID_POST_EMBEDDING_PROJ_TO_FINAL_ACTIVATION_RESIDUAL_GRAD ->
          DeriverSupport.residualProjection(
              ScalarDerivers.makeScalarDeriver(RESID_POST_EMBEDDING, config), dst, g);
      default -> {
        NodeType kind = dst.autoencoderNodeType().orElseThrow();
        yield DeriverSupport.nodeWriteToDirection(
            DeriverSupport.onlineLatent(kind, config),
            dst,
            DeriverSupport.autoencoderWriteTensor(config, kind, dst),
            g);
      }
    };
  }
}
