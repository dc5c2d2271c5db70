package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Autoencoder-gradient and attention→latent DSTs (§6.4). The gradient of {@code Σ_t z[t,j]} w.r.t.
 * the autoencoder input is {@code 1[z[t,j] > 0]·W_enc[j,:]} per token (ReLU′, also right for TopK
 * latents, whose selected entries pass through a ReLU); biases drop out of the derivative.
 *
 * <p>Stateless and thread-safe.
 */
final class LatentGradientDerivers {
  private LatentGradientDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    factories.put(
        AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT,
        (dst, config) -> autoencoderLatentGradWrtResidualInput(config));
    factories.put(
        AUTOENCODER_LATENT_GRAD_WRT_MLP_POST_ACT_INPUT,
        (dst, config) -> autoencoderLatentGradWrtMlpPostActInput(config));
    for (DerivedScalarType writeToLatent :
        List.of(
            ATTN_WRITE_TO_LATENT,
            ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS,
            FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS)) {
      factories.put(writeToLatent, LatentGradientDerivers::attnWriteToLatent);
    }
    factories.put(
        ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN,
        (dst, config) -> attnWriteToLatentPerSequenceToken(config));
    factories.put(
        FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS_BATCHED, LatentGradientDerivers::batched);
    factories.put(ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN_BATCHED, LatentGradientDerivers::batched);
    return factories;
  }

  /** The latent j of a trace config with tensor indices ("All", j). */
  private static int tracedLatent(DerivedScalarType dst, DstConfig config) {
    TraceConfig trace = config.traceConfig();
    if (trace == null) {
      throw new UnsupportedDerivationException(
          dst
              + " needs a trace_config naming the latent: tensor indices (null, j) on an autoencoder latent");
    }
    if (!trace.nodeType().isAutoencoderLatent()
        || trace.tensorIndices().size() != 2
        || trace.tensorIndices().get(0) != null
        || trace.tensorIndices().get(1) == null) {
      throw new UnsupportedDerivationException(
          dst
              + ": the trace_config must be an autoencoder latent with tensor indices (null, j), got "
              + trace.nodeIndex());
    }
    return trace.tensorIndices().get(1);
  }

  private static int requireSingleLayer(DerivedScalarType dst, DstConfig config) {
    List<Integer> layers = config.layerIndices();
    if (layers == null || layers.size() != 1) {
      throw new UnsupportedDerivationException(
          dst + " needs exactly one layer: DstConfig.builder().layerIndices(List.of(layer))");
    }
    return layers.get(0);
  }

  /** {@code 1[z[t,j] > 0]·W_enc[j,:]} → (T, n_in). */
  private static NDArray latentInputGradient(
      AutoencoderContext context, int aeLayer, NDArray input, int latent) {
    var autoencoder = context.autoencoder(aeLayer);
    NDArray z = autoencoder.encode(input).get(":, " + latent + ":" + (latent + 1)); // (T, 1)
    NDArray row =
        autoencoder.encoderWeight(input.getManager()).get(latent).expandDims(0); // (1, n_in)
    return LayerDerivatives.activeLatent(z).mul(row);
  }

  /**
   * AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT with a given context (the attention one for
   * ATTN_WRITE_TO_LATENT, the default one otherwise).
   */
  private static ScalarDeriver gradWrtResidualInput(
      DerivedScalarType dst, DstConfig config, AutoencoderContext context) {
    int latent = tracedLatent(dst, config);
    ActivationLocationType input = context.inputLocation();
    if (input != ActivationLocationType.RESID_DELTA_ATTN
        && input != ActivationLocationType.RESID_DELTA_MLP) {
      throw new UnsupportedDerivationException(
          dst
              + " needs an autoencoder on a residual write (RESID_DELTA_ATTN or RESID_DELTA_MLP), but"
              + " the configured one reads "
              + input);
    }
    return new ScalarDeriver(
        AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT,
        config,
        List.of(ScalarSource.Raw.of(input, PassType.FORWARD)),
        (inputs, l, pass) -> {
          DeriverSupport.requireForward(dst, pass, "latent gradients");
          return latentInputGradient(context, l, inputs.get(0), latent);
        });
  }

  private static ScalarDeriver autoencoderLatentGradWrtResidualInput(DstConfig config) {
    DerivedScalarType dst = AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT;
    tracedLatent(dst, config);
    return gradWrtResidualInput(dst, config, defaultContext(dst, config));
  }

  private static AutoencoderContext defaultContext(DerivedScalarType dst, DstConfig config) {
    AutoencoderContext context = config.autoencoderContext(null);
    if (context == null) {
      throw new UnsupportedDerivationException(
          dst + " needs an autoencoder: set DstConfig autoencoderContext");
    }
    return context;
  }

  /** Quirk Q11 (faithful): the autoencoder of the trace layer serves every output layer. */
  private static ScalarDeriver autoencoderLatentGradWrtMlpPostActInput(DstConfig config) {
    DerivedScalarType dst = AUTOENCODER_LATENT_GRAD_WRT_MLP_POST_ACT_INPUT;
    int latent = tracedLatent(dst, config);
    AutoencoderContext context = defaultContext(dst, config);
    if (context.inputLocation() != ActivationLocationType.MLP_POST_ACT) {
      throw new UnsupportedDerivationException(
          dst
              + " needs an autoencoder on MLP_POST_ACT, but the configured one reads "
              + context.inputLocation());
    }
    int traceLayer = config.traceConfig().layerIndex();
    if (config.layerIndices() != null && !config.layerIndices().equals(List.of(traceLayer))) {
      throw new UnsupportedDerivationException(
          dst + ": layerIndices must be [" + traceLayer + "] (the trace layer) or unset");
    }
    return ScalarDerivers.makeScalarDeriver(
            MLP_POST_ACT, config.toBuilder().deriveGradients(false).build())
        .applyLayerwiseTransform(
            dst,
            (inputs, l, pass) -> latentInputGradient(context, traceLayer, inputs.get(0), latent));
  }

  /** The direction gz of the attention→latent DSTs, at the single layer (no precedence check). */
  private static DeriverSupport.FinalResidualGradSource latentDirection(
      DerivedScalarType dst, DstConfig config, AutoencoderContext context, int layer) {
    ScalarDeriver gz = gradWrtResidualInput(dst, config, context);
    // Any later location: the attention at this layer always "precedes" (the original has no
    // check).
    return new DeriverSupport.FinalResidualGradSource(
        new ScalarSource.Derived(gz, PassType.FORWARD, new LayerIndexer.Constant(layer)),
        layer,
        LocationWithinLayer.RESID_POST_MLP);
  }

  /** ATTN_WRITE_TO_LATENT and its head sums (quirk Q18: uses the ATTENTION autoencoder context). */
  private static ScalarDeriver attnWriteToLatent(DerivedScalarType dst, DstConfig config) {
    int layer = requireSingleLayer(dst, config);
    AutoencoderContext context =
        DeriverSupport.requireAutoencoderContext(
            config, NodeType.ATTENTION_AUTOENCODER_LATENT, dst);
    int traceLayer = traceLayer(dst, config);
    if (traceLayer != layer) {
      throw new UnsupportedDerivationException(
          dst + ": the layer (" + layer + ") must be the trace layer (" + traceLayer + ")");
    }
    ScalarDeriver perHead =
        DeriverSupport.attentionWriteToDirection(
            ATTN_WRITE_TO_LATENT, config, latentDirection(dst, config, context, layer));
    return switch (dst) {
      case ATTN_WRITE_TO_LATENT -> perHead;
      case ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS ->
          perHead.applyTransform(dst, x -> x.sum(new int[] {2}, true));
      default ->
          perHead
              .applyTransform(
                  ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS, x -> x.sum(new int[] {2}, true))
              .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle);
    };
  }

  private static int traceLayer(DerivedScalarType dst, DstConfig config) {
    tracedLatent(dst, config);
    return config.traceConfig().layerIndex();
  }

  /** ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN (quirk Q18: uses the default autoencoder context). */
  private static ScalarDeriver attnWriteToLatentPerSequenceToken(DstConfig config) {
    DerivedScalarType dst = ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN;
    int layer = requireSingleLayer(dst, config);
    tracedLatent(dst, config);
    AutoencoderContext context = defaultContext(dst, config);
    ModelContext model = config.requireModelContext(dst);
    DeriverSupport.FinalResidualGradSource g = latentDirection(dst, config, context, layer);
    return ScalarDerivers.makeScalarDeriver(
            ATTN_WEIGHTED_SUM_OF_VALUES, config.toBuilder().deriveGradients(false).build())
        .applyLayerwiseTransformWithOther(
            dst,
            g.source(),
            (inputs, l, pass) -> {
              NDArray z = inputs.get(0);
              NDArray wo = model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, l, z.getManager());
              return DerivedScalarKernels.valueChannelWriteToDirection(z, wo, inputs.get(1));
            });
  }

  /** The two *_BATCHED DSTs: every latent of the attention autoencoder at once (no trace). */
  private static ScalarDeriver batched(DerivedScalarType dst, DstConfig config) {
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " has no backward pass: use derive_gradients=false");
    }
    int layer = requireSingleLayer(dst, config);
    AutoencoderContext context =
        DeriverSupport.requireAutoencoderContext(
            config, NodeType.ATTENTION_AUTOENCODER_LATENT, dst);
    ModelContext model = config.requireModelContext(dst);
    ScalarSource latents =
        new ScalarSource.Derived(
            ScalarDerivers.makeScalarDeriver(ATTENTION_AUTOENCODER_LATENT, config),
            PassType.FORWARD,
            new LayerIndexer.Constant(layer));
    if (dst == FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS_BATCHED) {
      return ScalarDerivers.makeScalarDeriver(ATTN_WRITE_SUM_HEADS, config)
          .applyLayerwiseTransformWithOther(
              dst,
              latents,
              (inputs, l, pass) -> {
                NDArray writes = inputs.get(0); // (T, U, D)
                NDArray encoder =
                    context.autoencoder(l).encoderWeight(writes.getManager()); // (NA, D)
                NDArray perLatent = writes.matMul(encoder.transpose()); // (T, U, NA)
                NDArray out =
                    perLatent.mul(LayerDerivatives.activeLatent(inputs.get(1)).expandDims(1));
                return DerivedScalarKernels.flattenLowerTriangle(out);
              });
    }
    return ScalarDerivers.makeScalarDeriver(ATTN_WEIGHTED_SUM_OF_VALUES, config)
        .applyLayerwiseTransformWithOther(
            dst,
            latents,
            (inputs, l, pass) -> {
              NDArray z = inputs.get(0); // (T, H, e)
              NDArray wo =
                  model.getWeight(
                      WeightLocationType.ATTN_TO_RESIDUAL, l, z.getManager()); // (H, e, D)
              NDArray encoder = context.autoencoder(l).encoderWeight(z.getManager()); // (NA, D)
              NDArray perHead = wo.matMul(encoder.transpose()); // (H, e, NA)
              NDArray out =
                  z.transpose(1, 0, 2).batchMatMul(perHead).transpose(1, 0, 2); // (T, H, NA)
              return out.mul(LayerDerivatives.activeLatent(inputs.get(1)).expandDims(1));
            });
  }
}
