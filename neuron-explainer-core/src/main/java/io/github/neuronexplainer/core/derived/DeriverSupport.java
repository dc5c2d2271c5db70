package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The building blocks every deriver family shares: raw sources and the pass-through deriver, the
 * write tensors (C2), the direction g of the direct-effect DSTs (C3) with its precedence rule, the
 * projections onto it (C4), the online autoencoder latents and the location of a DST (§2.3). It
 * builds derivers only from raw sources and never calls the registry ({@link ScalarDerivers}) or a
 * family, so the families can share it without cycles.
 *
 * <p>Stateless apart from a cache of MLP write norms per model; thread-safe.
 */
final class DeriverSupport {
  private DeriverSupport() {}

  // ---------------------------------------------------------------- raw sources (§2.4, §4.1)

  /** {@code [Raw(alt, F)]} plus {@code Raw(alt, B)} when deriving gradients. */
  static List<ScalarSource> rawSources(ActivationLocationType alt, boolean deriveGradients) {
    List<ScalarSource> sources = new ArrayList<>();
    sources.add(ScalarSource.Raw.of(alt, PassType.FORWARD));
    if (deriveGradients) {
      sources.add(ScalarSource.Raw.of(alt, PassType.BACKWARD));
    }
    return sources;
  }

  /** The no-op function: the only tensor (FORWARD only), or the tensor of the requested pass. */
  static TensorFunction noOp(DerivedScalarType dst) {
    return (inputs, layer, pass) -> {
      if (inputs.size() == 1) {
        requireForward(dst, pass, "it has no gradient source");
        return inputs.get(0);
      }
      return inputs.get(pass == PassType.FORWARD ? 0 : 1);
    };
  }

  static void requireForward(DerivedScalarType dst, PassType pass, String why) {
    if (pass != PassType.FORWARD) {
      throw new UnsupportedDerivationException(
          "Backward pass not defined for "
              + dst
              + " ("
              + why
              + "); build its deriver with derive_gradients=false");
    }
  }

  static ScalarDeriver passthrough(DerivedScalarType dst, DstConfig config) {
    ActivationLocationType alt = dst.toActivationLocationType();
    return new ScalarDeriver(dst, config, rawSources(alt, config.deriveGradients()), noOp(dst));
  }

  // ---------------------------------------------------------------- act × grad (§4.3, §5.3)

  static ScalarDeriver actTimesGrad(
      ActivationLocationType alt, DerivedScalarType dst, DstConfig config) {
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " is already a gradient-based attribution: build it with derive_gradients=false");
    }
    return new ScalarDeriver(
        dst,
        config,
        List.of(
            ScalarSource.Raw.of(alt, PassType.FORWARD),
            ScalarSource.Raw.of(alt, PassType.BACKWARD)),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "act × grad has no gradient");
          return inputs.get(0).mul(inputs.get(1));
        });
  }

  // ---------------------------------------------------------------- write tensors (C2)

  /** A per-layer write tensor (N, D), loaded lazily in the evaluation's scope. */
  @FunctionalInterface
  interface WriteTensor {
    NDArray at(int layer, NDArray like);

    /** {@code ||W[n,:]||} (N,), in {@code like}'s manager. */
    default NDArray rowNorms(int layer, NDArray like) {
      return DerivedScalarKernels.rowNorms(at(layer, like));
    }
  }

  /**
   * Row norms of the MLP output weights per model and layer: weights are immutable, so the norms
   * are computed once (they are ~10% of a GPT-2-small attribution's derivation time otherwise).
   */
  private static final Map<ModelContext, Map<Integer, float[]>> MLP_WRITE_NORMS =
      Collections.synchronizedMap(new WeakHashMap<>());

  static WriteTensor mlpWriteTensor(DstConfig config, DerivedScalarType dst) {
    ModelContext model = config.requireModelContext(dst);
    return new WriteTensor() {
      @Override
      public NDArray at(int layer, NDArray like) {
        return model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, like.getManager());
      }

      @Override
      public NDArray rowNorms(int layer, NDArray like) {
        float[] norms =
            MLP_WRITE_NORMS
                .computeIfAbsent(model, m -> new ConcurrentHashMap<>())
                .computeIfAbsent(
                    layer, l -> DerivedScalarKernels.rowNorms(at(l, like)).toFloatArray());
        return like.getManager().create(norms);
      }
    };
  }

  /** C2 for autoencoders: {@code W_decᵀ·Wout} for an MLP_POST_ACT AE, {@code W_decᵀ} otherwise. */
  static WriteTensor autoencoderWriteTensor(
      DstConfig config, NodeType kind, DerivedScalarType dst) {
    AutoencoderContext context = requireAutoencoderContext(config, kind, dst);
    ActivationLocationType input = context.inputLocation();
    boolean residualBasis =
        input == ActivationLocationType.RESID_DELTA_MLP
            || input == ActivationLocationType.RESID_DELTA_ATTN;
    if (input != ActivationLocationType.MLP_POST_ACT && !residualBasis) {
      throw new UnsupportedDerivationException(
          dst
              + ": no write tensor for an autoencoder reading "
              + input
              + " (supported: MLP_POST_ACT, RESID_DELTA_MLP, RESID_DELTA_ATTN)");
    }
    ModelContext model = residualBasis ? null : config.requireModelContext(dst);
    return (layer, like) -> {
      NDArray decoderDirections =
          context.autoencoder(layer).decoderWeight(like.getManager()).transpose();
      if (residualBasis) {
        return decoderDirections;
      }
      return decoderDirections.matMul(
          model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, like.getManager()));
    };
  }

  static ScalarDeriver writeNorm(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write norm");
          NDArray a = inputs.get(0);
          return a.mul(writeTensor.rowNorms(layer, a));
        });
  }

  static ScalarDeriver write(ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return forwardWrite(inner, dst, writeTensor, DerivedScalarKernels::write);
  }

  static ScalarDeriver writeVectors(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return forwardWrite(inner, dst, writeTensor, DerivedScalarKernels::writeVectors);
  }

  /** {@code kernel(activations, write tensor)} per layer, forward only. */
  private static ScalarDeriver forwardWrite(
      ScalarDeriver inner,
      DerivedScalarType dst,
      WriteTensor writeTensor,
      java.util.function.BinaryOperator<NDArray> kernel) {
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write");
          NDArray a = inputs.get(0);
          return kernel.apply(a, writeTensor.at(layer, a));
        });
  }

  // ---------------------------------------------------------------- final residual grad (C3, C4)

  /** The direction g with the position it is taken at (C3, G_bw). */
  record FinalResidualGradSource(ScalarSource source, int layer, LocationWithinLayer location) {}

  /**
   * C3 G_bw: without a trace, {@code RESID_POST_MLP/B} at the last layer; with a trace, the
   * gradient at the residual stream just before the traced node (RESID_POST_ATTN/B for MLP-side
   * nodes, PREVIOUS_LAYER_RESID_POST_MLP as BACKWARD for attention-side nodes).
   */
  static FinalResidualGradSource finalResidualGrad(DstConfig config, DerivedScalarType dst) {
    TraceConfig trace = config.traceConfig();
    if (trace == null) {
      int last = config.requireModelContext(dst).nLayers() - 1;
      return new FinalResidualGradSource(
          new ScalarSource.Raw(
              ActivationLocationType.RESID_POST_MLP,
              PassType.BACKWARD,
              new LayerIndexer.Constant(last)),
          last,
          LocationWithinLayer.RESID_POST_MLP);
    }
    int traceLayer = trace.layerIndex();
    DerivedScalarType residual = previousResidualDst(trace.nodeType(), config);
    DstConfig inner =
        DstConfig.builder().layerIndices(List.of(traceLayer)).deriveGradients(true).build();
    ScalarDeriver residualDeriver =
        residual == RESID_POST_ATTN
            ? passthrough(RESID_POST_ATTN, inner)
            : previousLayerResidPostMlp(inner);
    LocationWithinLayer location =
        residual == RESID_POST_ATTN
            ? LocationWithinLayer.RESID_POST_ATTN
            : LocationWithinLayer.END_OF_PREV_LAYER;
    return new FinalResidualGradSource(
        new ScalarSource.Derived(
            residualDeriver, PassType.BACKWARD, new LayerIndexer.Constant(traceLayer)),
        traceLayer,
        location);
  }

  /** C5: the residual stream DST just before a node of {@code nodeType}. */
  static DerivedScalarType previousResidualDst(NodeType nodeType, DstConfig config) {
    switch (nodeType) {
      case ATTENTION_HEAD:
        return PREVIOUS_LAYER_RESID_POST_MLP;
      case MLP_NEURON:
        return RESID_POST_ATTN;
      case AUTOENCODER_LATENT:
      case MLP_AUTOENCODER_LATENT:
      case ATTENTION_AUTOENCODER_LATENT:
        AutoencoderContext context = config.autoencoderContext(nodeType);
        if (context == null) {
          throw new UnsupportedDerivationException(
              "The node is an autoencoder latent (a trace or attribution node) but no autoencoder of node type "
                  + nodeType
                  + " is configured");
        }
        return switch (context.inputLocation()) {
          case RESID_DELTA_ATTN -> PREVIOUS_LAYER_RESID_POST_MLP;
          case RESID_DELTA_MLP, MLP_POST_ACT -> RESID_POST_ATTN;
          default ->
              throw new UnsupportedDerivationException(
                  "No previous residual stream for an autoencoder reading "
                      + context.inputLocation());
        };
      default:
        throw new UnsupportedDerivationException(
            "No previous residual stream for node type " + nodeType);
    }
  }

  /** §2.3: does (dsLayer, dsLoc) come strictly before (gLayer, gLoc)? */
  static boolean precedes(
      int dsLayer,
      Optional<LocationWithinLayer> dsLocation,
      int gLayer,
      LocationWithinLayer gLocation) {
    if (dsLayer == LayerIndex.NONE) {
      return true;
    }
    if (gLayer == LayerIndex.NONE) {
      return false;
    }
    if (dsLayer < gLayer) {
      return true;
    }
    if (dsLayer == gLayer) {
      if (dsLocation.isEmpty() || gLocation == null) {
        throw new IllegalStateException(
            "Cannot order two scalars of layer " + dsLayer + " without both locations");
      }
      return dsLocation.get().value() < gLocation.value();
    }
    return false;
  }

  /** §4.5: node activations (T, N) times their write onto g, zero where not upstream of g. */
  static ScalarDeriver nodeWriteToFinalResidualGrad(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor, DstConfig config) {
    return nodeWriteToDirection(inner, dst, writeTensor, finalResidualGrad(config, dst));
  }

  /** C4 for node activations onto any direction source (final residual grad or edge gradient). */
  static ScalarDeriver nodeWriteToDirection(
      ScalarDeriver inner,
      DerivedScalarType dst,
      WriteTensor writeTensor,
      FinalResidualGradSource g) {
    Optional<LocationWithinLayer> location = inner.location();
    return inner.applyLayerwiseTransformWithOther(
        dst,
        g.source(),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "direct effects have no gradient");
          NDArray a = inputs.get(0);
          if (!precedes(layer, location, g.layer(), g.location())) {
            return a.zerosLike();
          }
          return DerivedScalarKernels.nodeWriteToDirection(
              a, writeTensor.at(layer, a), inputs.get(1));
        });
  }

  /** The fused attention V-channel kernel onto any direction source. */
  static ScalarDeriver attentionWriteToDirection(
      DerivedScalarType dst, DstConfig config, FinalResidualGradSource g) {
    ModelContext model = config.requireModelContext(dst);
    Optional<LocationWithinLayer> location = Optional.of(LocationWithinLayer.ATTN);
    List<ScalarSource> sources = new ArrayList<>(probsAndValues());
    sources.add(g.source());
    return new ScalarDeriver(
        dst,
        config,
        sources,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "direct effects have no gradient");
          NDArray probs = inputs.get(0);
          requireSquareAttention(dst, probs);
          NDArray values = inputs.get(1);
          NDArray wo =
              model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, values.getManager());
          NDArray out =
              DerivedScalarKernels.attentionWriteToDirection(probs, values, wo, inputs.get(2));
          return precedes(layer, location, g.layer(), g.location()) ? out : out.zerosLike();
        },
        LocationWithinLayer.ATTN);
  }

  /** C4 residual kernel: the residual-basis activations of {@code inner} projected onto g. */
  static ScalarDeriver residualProjection(
      ScalarDeriver inner, DerivedScalarType dst, FinalResidualGradSource g) {
    Optional<LocationWithinLayer> location = inner.location();
    return inner.applyLayerwiseTransformWithOther(
        dst,
        g.source(),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "direct effects have no gradient");
          NDArray out = DerivedScalarKernels.residualProjection(inputs.get(0), inputs.get(1));
          return precedes(layer, location, g.layer(), g.location()) ? out : out.zerosLike();
        });
  }

  static List<ScalarSource> probsAndValues() {
    return List.of(
        ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
        ScalarSource.Raw.of(ActivationLocationType.ATTN_VALUE, PassType.FORWARD));
  }

  static void requireSquareAttention(DerivedScalarType dst, NDArray probs) {
    if (probs.getShape().get(0) != probs.getShape().get(1)) {
      throw new IllegalStateException(
          dst + " needs as many attended-to tokens as tokens, got " + probs.getShape());
    }
  }

  /**
   * PREVIOUS_LAYER_RESID_POST_MLP: RESID_POST_MLP of the previous layer, the embedding at layer 0.
   * Quirk Q2 (faithful, C3 relies on it): with derive_gradients both passes return gradients.
   */
  static ScalarDeriver previousLayerResidPostMlp(DstConfig config) {
    DerivedScalarType dst = PREVIOUS_LAYER_RESID_POST_MLP;
    List<ScalarSource> sources = new ArrayList<>();
    List<PassType> passes =
        config.deriveGradients()
            ? List.of(PassType.FORWARD, PassType.BACKWARD)
            : List.of(PassType.FORWARD);
    for (PassType pass : passes) {
      sources.add(
          new ScalarSource.Raw(
              ActivationLocationType.RESID_POST_MLP, pass, new LayerIndexer.Offset(-1)));
      sources.add(ScalarSource.Raw.of(ActivationLocationType.RESID_POST_EMBEDDING, pass));
    }
    return new ScalarDeriver(
        dst,
        config,
        sources,
        (inputs, layer, pass) -> {
          int base = inputs.size() - 2;
          return layer == 0 ? inputs.get(base + 1) : inputs.get(base);
        },
        LocationWithinLayer.END_OF_PREV_LAYER);
  }

  static AutoencoderContext requireAutoencoderContext(
      DstConfig config, NodeType kind, DerivedScalarType dst) {
    AutoencoderContext context = config.autoencoderContext(kind);
    if (context == null) {
      throw new UnsupportedDerivationException(
          dst
              + " needs an autoencoder of node type "
              + kind
              + ": set DstConfig autoencoderContext or multiAutoencoderContext");
    }
    return context;
  }

  static ActivationLocationType onlineLatentLocation(NodeType kind) {
    return switch (kind) {
      case MLP_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
      case ATTENTION_AUTOENCODER_LATENT ->
          ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
      default -> ActivationLocationType.ONLINE_AUTOENCODER_LATENT;
    };
  }

  static ScalarDeriver onlineLatent(NodeType kind, DstConfig config) {
    DerivedScalarType dst = ONLINE_AUTOENCODER_LATENT.updateFromAutoencoderNodeType(kind);
    requireAutoencoderContext(config, kind, dst);
    return new ScalarDeriver(
        dst,
        config,
        List.of(ScalarSource.Raw.of(onlineLatentLocation(kind), PassType.FORWARD)),
        noOp(dst));
  }

  // ---------------------------------------------------------------- locations (§2.3)

  /**
   * The location a DST implies under {@code config}: raw DSTs their activation's; autoencoder DSTs
   * their autoencoder input's; residual DSTs ATTN_WRITE → ATTN, PREVIOUS_LAYER_RESID_POST_MLP →
   * END_OF_PREV_LAYER; otherwise the node type's.
   */
  static Optional<LocationWithinLayer> locationForDst(DerivedScalarType dst, DstConfig config) {
    if (dst.isRawActivationType()) {
      return dst.toActivationLocationType().locationWithinLayer();
    }
    NodeType nodeType = dst.nodeType();
    if (nodeType.isAutoencoderLatent()) {
      AutoencoderContext context;
      try {
        context = config.autoencoderContext(nodeType);
      } catch (UnsupportedDerivationException e) {
        return Optional.empty();
      }
      if (context == null) {
        return Optional.empty();
      }
      return context.inputLocation().locationWithinLayer();
    }
    if (nodeType == NodeType.RESIDUAL_STREAM_CHANNEL) {
      if (dst == ATTN_WRITE) {
        return Optional.of(LocationWithinLayer.ATTN);
      }
      if (dst == PREVIOUS_LAYER_RESID_POST_MLP) {
        return Optional.of(LocationWithinLayer.END_OF_PREV_LAYER);
      }
      return Optional.empty();
    }
    if (nodeType == NodeType.VOCAB_TOKEN || nodeType == NodeType.LAYER) {
      return Optional.empty();
    }
    return nodeType.locationWithinLayer();
  }
}
