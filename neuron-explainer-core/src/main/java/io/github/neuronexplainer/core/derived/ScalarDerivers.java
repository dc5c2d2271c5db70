package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
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
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The registry of derivers (the original's {@code make_scalar_deriver} and {@code
 * _DERIVED_SCALAR_TYPE_REGISTRY}): builds the {@link ScalarDeriver} of a DST for a config, or
 * refuses the combination with an {@link UnsupportedDerivationException} for the original's
 * reasons. The math of every DST lives in {@link DerivedScalarKernels}.
 *
 * <p>Stateless and thread-safe.
 */
public final class ScalarDerivers {
  private ScalarDerivers() {}

  /** The DSTs this registry can build (the others are refused with "not implemented"). */
  public static final Set<DerivedScalarType> IMPLEMENTED =
      EnumSet.complementOf(EnumSet.of(VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION));

  /**
   * The deriver of {@code dst} under {@code config}.
   *
   * @throws UnsupportedDerivationException for combinations the original refuses (a missing or
   *     ambiguous autoencoder, a missing trace config or fake-gradient index, derive_gradients for
   *     DSTs that reject it) and for DSTs this port does not implement yet
   */
  public static ScalarDeriver makeScalarDeriver(DerivedScalarType dst, DstConfig config) {
    return switch (dst) {
      case LOGITS -> logits(config);
      case RESID_POST_EMBEDDING,
          MLP_PRE_ACT,
          MLP_POST_ACT,
          RESID_DELTA_MLP,
          RESID_POST_MLP,
          ATTN_QUERY,
          ATTN_KEY,
          ATTN_VALUE,
          ATTN_QK_LOGITS,
          ATTN_QK_PROBS,
          ATTN_WEIGHTED_SUM_OF_VALUES,
          RESID_DELTA_ATTN,
          RESID_POST_ATTN,
          RESID_FINAL_LAYER_NORM_SCALE,
          ATTN_INPUT_LAYER_NORM_SCALE,
          MLP_INPUT_LAYER_NORM_SCALE -> passthrough(dst, config);
      case ONLINE_AUTOENCODER_LATENT -> onlineLatent(NodeType.AUTOENCODER_LATENT, config);
      case ONLINE_MLP_AUTOENCODER_LATENT -> onlineLatent(NodeType.MLP_AUTOENCODER_LATENT, config);
      case ONLINE_ATTENTION_AUTOENCODER_LATENT -> onlineLatent(
          NodeType.ATTENTION_AUTOENCODER_LATENT, config);
      case ATTN_WRITE_NORM -> make(UNFLATTENED_ATTN_WRITE_NORM, config)
          .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle);
      case FLATTENED_ATTN_POST_SOFTMAX -> make(ATTN_QK_PROBS, config)
          .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle);
      case ATTN_ACT_TIMES_GRAD -> make(UNFLATTENED_ATTN_ACT_TIMES_GRAD, config)
          .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle);
      case ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD -> make(
              UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD, config)
          .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle);
      case RESID_DELTA_MLP_FROM_MLP_POST_ACT -> write(
          make(MLP_POST_ACT, config), dst, mlpWriteTensor(config, dst));
      case MLP_WRITE_NORM -> writeNorm(make(MLP_POST_ACT, config), dst, mlpWriteTensor(config, dst));
      case MLP_ACT_TIMES_GRAD -> actTimesGrad(ActivationLocationType.MLP_POST_ACT, dst, config);
      case AUTOENCODER_LATENT -> offlineLatent(NodeType.AUTOENCODER_LATENT, config);
      case MLP_AUTOENCODER_LATENT -> offlineLatent(NodeType.MLP_AUTOENCODER_LATENT, config);
      case ATTENTION_AUTOENCODER_LATENT -> offlineLatent(
          NodeType.ATTENTION_AUTOENCODER_LATENT, config);
      case AUTOENCODER_WRITE_NORM -> offlineWriteNorm(NodeType.AUTOENCODER_LATENT, config);
      case MLP_AUTOENCODER_WRITE_NORM -> offlineWriteNorm(NodeType.MLP_AUTOENCODER_LATENT, config);
      case ATTENTION_AUTOENCODER_WRITE_NORM -> offlineWriteNorm(
          NodeType.ATTENTION_AUTOENCODER_LATENT, config);
      case MLP_WRITE_TO_FINAL_RESIDUAL_GRAD -> nodeWriteToFinalResidualGrad(
          make(MLP_POST_ACT, config), dst, mlpWriteTensor(config, dst), config);
      case ATTN_WRITE_NORM_PER_SEQUENCE_TOKEN -> attnWriteNormPerSequenceToken(config);
      case ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD_PER_SEQUENCE_TOKEN -> valueChannelWriteToFinalResidualGrad(
          make(ATTN_WEIGHTED_SUM_OF_VALUES, config), dst, config);
      case ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN -> actTimesGrad(
              ActivationLocationType.ATTN_QK_PROBS, UNFLATTENED_ATTN_ACT_TIMES_GRAD, config)
          .applyTransform(dst, x -> x.sum(new int[] {1}));
      case RESID_POST_EMBEDDING_NORM -> residualNorm(
          ActivationLocationType.RESID_POST_EMBEDDING, dst, config);
      case RESID_POST_MLP_NORM -> residualNorm(ActivationLocationType.RESID_POST_MLP, dst, config);
      case MLP_LAYER_WRITE_NORM -> residualNorm(ActivationLocationType.RESID_DELTA_MLP, dst, config);
      case RESID_POST_ATTN_NORM -> residualNorm(ActivationLocationType.RESID_POST_ATTN, dst, config);
      case ATTN_LAYER_WRITE_NORM -> residualNorm(
          ActivationLocationType.RESID_DELTA_ATTN, dst, config);
      case RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD -> residualProjection(
          RESID_POST_EMBEDDING, dst, config);
      case RESID_POST_MLP_PROJ_TO_FINAL_RESIDUAL_GRAD -> residualProjection(
          RESID_POST_MLP, dst, config);
      case MLP_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD -> residualProjection(
          RESID_DELTA_MLP, dst, config);
      case RESID_POST_ATTN_PROJ_TO_FINAL_RESIDUAL_GRAD -> residualProjection(
          RESID_POST_ATTN, dst, config);
      case ATTN_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD -> residualProjection(
          RESID_DELTA_ATTN, dst, config);
      case UNFLATTENED_ATTN_ACT_TIMES_GRAD -> actTimesGrad(
          ActivationLocationType.ATTN_QK_PROBS, dst, config);
      case UNFLATTENED_ATTN_WRITE_NORM -> unflattenedAttnWriteNorm(config);
      case UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD -> unflattenedAttnWriteToFinalResidualGrad(
          config);
      case ONLINE_AUTOENCODER_ACT_TIMES_GRAD,
          ONLINE_MLP_AUTOENCODER_ACT_TIMES_GRAD,
          ONLINE_ATTENTION_AUTOENCODER_ACT_TIMES_GRAD -> onlineLatentActTimesGrad(dst, config);
      case ONLINE_AUTOENCODER_WRITE_NORM,
          ONLINE_MLP_AUTOENCODER_WRITE_NORM,
          ONLINE_ATTENTION_AUTOENCODER_WRITE_NORM -> {
        NodeType kind = autoencoderKind(dst);
        yield writeNorm(
            onlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst));
      }
      case ONLINE_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD,
          ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD,
          ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD -> {
        NodeType kind = autoencoderKind(dst);
        yield nodeWriteToFinalResidualGrad(
            onlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst), config);
      }
      case ONLINE_AUTOENCODER_WRITE,
          ONLINE_MLP_AUTOENCODER_WRITE,
          ONLINE_ATTENTION_AUTOENCODER_WRITE -> {
        NodeType kind = autoencoderKind(dst);
        yield writeVectors(
            onlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst));
      }
      case ONLINE_MLP_AUTOENCODER_ERROR,
          ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR,
          ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR -> onlineError(dst, config);
      case ONLINE_MLP_AUTOENCODER_ERROR_ACT_TIMES_GRAD -> onlineError(
              ONLINE_MLP_AUTOENCODER_ERROR, config)
          .applyLayerwiseTransformWithOther(
              dst,
              ScalarSource.Raw.of(
                  ActivationLocationType.ONLINE_MLP_AUTOENCODER_ERROR, PassType.BACKWARD),
              (in, layer, pass) -> in.get(0).mul(in.get(1)));
      case ONLINE_MLP_AUTOENCODER_ERROR_WRITE_NORM -> writeNorm(
          onlineError(ONLINE_MLP_AUTOENCODER_ERROR, config), dst, mlpWriteTensor(config, dst));
      case ONLINE_MLP_AUTOENCODER_ERROR_WRITE_TO_FINAL_RESIDUAL_GRAD -> nodeWriteToFinalResidualGrad(
          onlineError(ONLINE_MLP_AUTOENCODER_ERROR, config),
          dst,
          mlpWriteTensor(config, dst),
          config);
      case ATTN_WRITE -> attnWrite(config);
      case ATTN_WRITE_SUM_HEADS -> attnWrite(config)
          .applyTransform(dst, x -> x.sum(new int[] {2}));
      case MLP_WRITE -> writeVectors(make(MLP_POST_ACT, config), dst, mlpWriteTensor(config, dst));
      case ATTN_WEIGHTED_VALUE -> attnWeightedValue(config);
      case PREVIOUS_LAYER_RESID_POST_MLP -> previousLayerResidPostMlp(config);
      case TOKEN_ATTRIBUTION -> actTimesGrad(
              ActivationLocationType.RESID_POST_EMBEDDING, TOKEN_ATTRIBUTION, config)
          .applyTransform(dst, x -> x.sum(new int[] {1}, true));
      case ALWAYS_ONE -> make(RESID_POST_EMBEDDING, config)
          .applyTransform(dst, x -> x.get(new NDIndex(":, 0:1")).onesLike());
      case GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION -> EdgeAttributionDerivers.gradOfSingleSubnodeAttribution(
          config);
      case MLP_OUT_EDGE_ATTRIBUTION,
          ATTN_OUT_EDGE_ATTRIBUTION,
          ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION,
          TOKEN_OUT_EDGE_ATTRIBUTION -> EdgeAttributionDerivers.outEdgeAttribution(dst, config);
      case SINGLE_NODE_WRITE -> EdgeAttributionDerivers.singleNodeWrite(config);
      case SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD -> EdgeAttributionDerivers
          .singleNodeWriteToFinalResidualGrad(config);
      case ATTN_QUERY_IN_EDGE_ATTRIBUTION,
          ATTN_KEY_IN_EDGE_ATTRIBUTION,
          ATTN_VALUE_IN_EDGE_ATTRIBUTION,
          MLP_IN_EDGE_ATTRIBUTION,
          ONLINE_AUTOENCODER_IN_EDGE_ATTRIBUTION,
          ATTN_QUERY_IN_EDGE_ACTIVATION,
          ATTN_KEY_IN_EDGE_ACTIVATION,
          MLP_IN_EDGE_ACTIVATION,
          ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION -> EdgeAttributionDerivers.inEdge(dst, config);
      case MLP_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          RESID_POST_EMBEDDING_PROJ_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD -> ReconstitutedGradientDerivers
          .writeToFinalActivationResidualGrad(dst, config);
      case AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT -> LatentGradientDerivers
          .autoencoderLatentGradWrtResidualInput(config);
      case AUTOENCODER_LATENT_GRAD_WRT_MLP_POST_ACT_INPUT -> LatentGradientDerivers
          .autoencoderLatentGradWrtMlpPostActInput(config);
      case ATTN_WRITE_TO_LATENT,
          ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS,
          FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS -> LatentGradientDerivers.attnWriteToLatent(
          dst, config);
      case ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN -> LatentGradientDerivers
          .attnWriteToLatentPerSequenceToken(config);
      case FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS_BATCHED,
          ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN_BATCHED -> LatentGradientDerivers.batched(dst, config);
      case VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION -> {
        if (config.activationIndexForFakeGrad() == null) {
          throw new UnsupportedDerivationException(
              dst
                  + " needs DstConfig.activationIndexForFakeGrad (the MLP neuron or MLP"
                  + " autoencoder latent whose input direction is wanted)");
        }
        throw notImplemented(dst);
      }
      default -> throw notImplemented(dst);
    };
  }

  static ScalarDeriver make(DerivedScalarType dst, DstConfig config) {
    return makeScalarDeriver(dst, config);
  }

  static UnsupportedDerivationException notImplemented(DerivedScalarType dst) {
    return new UnsupportedDerivationException(
        dst
            + " is not implemented in this version of the Java port (see DERIVED_SCALARS.md for"
            + " the implemented DSTs)");
  }

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

  private static ScalarDeriver passthrough(DerivedScalarType dst, DstConfig config) {
    ActivationLocationType alt = dst.toActivationLocationType();
    return new ScalarDeriver(dst, config, rawSources(alt, config.deriveGradients()), noOp(dst));
  }

  private static ScalarDeriver logits(DerivedScalarType dst, DstConfig config) {
    int nVocab = config.requireModelContext(dst).nVocab();
    TensorFunction noOp = noOp(dst);
    return new ScalarDeriver(
        dst,
        config,
        rawSources(ActivationLocationType.LOGITS, config.deriveGradients()),
        (inputs, layer, pass) -> {
          NDArray x = noOp.apply(inputs, layer, pass);
          long actual = x.getShape().get(1);
          if (actual < nVocab) {
            throw new IllegalStateException(
                "LOGITS have " + actual + " columns, fewer than the vocabulary size " + nVocab);
          }
          return actual == nVocab ? x : x.get(new NDIndex(":, 0:" + nVocab));
        });
  }

  private static ScalarDeriver logits(DstConfig config) {
    return logits(LOGITS, config);
  }

  // ---------------------------------------------------------------- act × grad (§4.3, §5.3)

  private static ScalarDeriver actTimesGrad(
      ActivationLocationType alt, DerivedScalarType dst, DstConfig config) {
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " is already a gradient-based attribution: build it with derive_gradients=false");
    }
    return new ScalarDeriver(
        dst,
        config,
        List.of(
            ScalarSource.Raw.of(alt, PassType.FORWARD), ScalarSource.Raw.of(alt, PassType.BACKWARD)),
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
                .computeIfAbsent(layer, l -> DerivedScalarKernels.rowNorms(at(l, like)).toFloatArray());
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
          dst + ": no write tensor for an autoencoder reading " + input
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

  private static ScalarDeriver writeNorm(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write norm");
          NDArray a = inputs.get(0);
          return a.mul(writeTensor.rowNorms(layer, a));
        });
  }

  private static ScalarDeriver write(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write");
          NDArray a = inputs.get(0);
          return DerivedScalarKernels.write(a, writeTensor.at(layer, a));
        });
  }

  private static ScalarDeriver writeVectors(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor) {
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write");
          NDArray a = inputs.get(0);
          return DerivedScalarKernels.writeVectors(a, writeTensor.at(layer, a));
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
    ScalarDeriver residualDeriver = makeScalarDeriver(residual, inner);
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
              "The trace node is an autoencoder latent but no autoencoder of node type "
                  + nodeType + " is configured");
        }
        return switch (context.inputLocation()) {
          case RESID_DELTA_ATTN -> PREVIOUS_LAYER_RESID_POST_MLP;
          case RESID_DELTA_MLP, MLP_POST_ACT -> RESID_POST_ATTN;
          default -> throw new UnsupportedDerivationException(
              "No previous residual stream for an autoencoder reading " + context.inputLocation());
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
  private static ScalarDeriver nodeWriteToFinalResidualGrad(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor, DstConfig config) {
    return nodeWriteToDirection(inner, dst, writeTensor, finalResidualGrad(config, dst));
  }

  /** C4 for node activations onto any direction source (final residual grad or edge gradient). */
  static ScalarDeriver nodeWriteToDirection(
      ScalarDeriver inner, DerivedScalarType dst, WriteTensor writeTensor, FinalResidualGradSource g) {
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

  /** §4.5 V-channel kernel on (T, H, e) or (T, U, H, e) weighted values. */
  private static ScalarDeriver valueChannelWriteToFinalResidualGrad(
      ScalarDeriver inner, DerivedScalarType dst, DstConfig config) {
    ModelContext model = config.requireModelContext(dst);
    FinalResidualGradSource g = finalResidualGrad(config, dst);
    Optional<LocationWithinLayer> location = inner.location();
    return inner.applyLayerwiseTransformWithOther(
        dst,
        g.source(),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "direct effects have no gradient");
          NDArray weighted = inputs.get(0);
          NDArray wo =
              model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, weighted.getManager());
          NDArray out = DerivedScalarKernels.valueChannelWriteToDirection(weighted, wo, inputs.get(1));
          return precedes(layer, location, g.layer(), g.location()) ? out : out.zerosLike();
        });
  }

  /**
   * §4.5 UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD: the V-channel kernel on ATTN_WEIGHTED_VALUE
   * (same sources, location and zeroing), fused so the (T, U, H, e) tensor is never built.
   */
  private static ScalarDeriver unflattenedAttnWriteToFinalResidualGrad(DstConfig config) {
    DerivedScalarType dst = UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD;
    return attentionWriteToDirection(dst, config, finalResidualGrad(config, dst));
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

  /** §5.3 residual projections onto g (T, 1); quirk Q6 (faithful): RESID_POST_MLP at NL−1 is 0. */
  private static ScalarDeriver residualProjection(
      DerivedScalarType residual, DerivedScalarType dst, DstConfig config) {
    return residualProjection(residual, dst, config, finalResidualGrad(config, dst));
  }

  /** C4 residual kernel onto any direction source. */
  static ScalarDeriver residualProjection(
      DerivedScalarType residual, DerivedScalarType dst, DstConfig config, FinalResidualGradSource g) {
    ScalarDeriver inner = make(residual, config);
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

  // ---------------------------------------------------------------- attention (§4.4, §4.6, §5.4)

  private static ScalarDeriver unflattenedAttnWriteNorm(DstConfig config) {
    DerivedScalarType dst = UNFLATTENED_ATTN_WRITE_NORM;
    ModelContext model = config.requireModelContext(dst);
    List<ScalarSource> sources = new ArrayList<>();
    sources.add(ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD));
    if (config.deriveGradients()) {
      sources.add(ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.BACKWARD));
    }
    sources.add(ScalarSource.Raw.of(ActivationLocationType.ATTN_VALUE, PassType.FORWARD));
    return new ScalarDeriver(
        dst,
        config,
        sources,
        (inputs, layer, pass) -> {
          NDArray values = inputs.get(inputs.size() - 1);
          NDArray wo =
              model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, values.getManager());
          NDArray norms = DerivedScalarKernels.valueWriteNorms(values, wo).expandDims(0);
          if (pass == PassType.FORWARD) {
            return inputs.get(0).mul(norms);
          }
          // Quirk Q20 (faithful): no epsilon, a zero write norm gives inf/nan.
          return inputs.get(1).div(norms);
        });
  }

  private static ScalarDeriver attnWriteNormPerSequenceToken(DstConfig config) {
    DerivedScalarType dst = ATTN_WRITE_NORM_PER_SEQUENCE_TOKEN;
    ModelContext model = config.requireModelContext(dst);
    return new ScalarDeriver(
        dst,
        config,
        rawSources(ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES, config.deriveGradients()),
        (inputs, layer, pass) -> {
          if (inputs.size() != 1) {
            throw new UnsupportedDerivationException(
                dst + " has no backward pass: build it with derive_gradients=false");
          }
          NDArray z = inputs.get(0);
          NDArray wo = model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, z.getManager());
          return DerivedScalarKernels.headWriteNorms(z, wo);
        });
  }

  private static List<ScalarSource> probsAndValues() {
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

  private static ScalarDeriver attnWeightedValue(DstConfig config) {
    DerivedScalarType dst = ATTN_WEIGHTED_VALUE;
    return new ScalarDeriver(
        dst,
        config,
        probsAndValues(),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "weighted value is only implemented for the forward pass");
          requireSquareAttention(dst, inputs.get(0));
          return DerivedScalarKernels.weightedValues(inputs.get(0), inputs.get(1));
        });
  }

  private static ScalarDeriver attnWrite(DstConfig config) {
    DerivedScalarType dst = ATTN_WRITE;
    if (config.deriveGradients()) {
      throw new UnsupportedDerivationException(
          dst + " and ATTN_WRITE_SUM_HEADS have no backward pass: use derive_gradients=false");
    }
    ModelContext model = config.requireModelContext(dst);
    return new ScalarDeriver(
        dst,
        config,
        probsAndValues(),
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "write");
          requireSquareAttention(dst, inputs.get(0));
          NDArray values = inputs.get(1);
          NDArray wo =
              model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, values.getManager());
          return DerivedScalarKernels.attentionWrites(inputs.get(0), values, wo);
        });
  }

  // ---------------------------------------------------------------- residual stream (§4.6, §5.3)

  private static ScalarDeriver residualNorm(
      ActivationLocationType alt, DerivedScalarType dst, DstConfig config) {
    return new ScalarDeriver(
        dst,
        config,
        rawSources(alt, config.deriveGradients()),
        (inputs, layer, pass) -> {
          if (inputs.size() != 1) {
            throw new UnsupportedDerivationException(
                dst + " has no backward pass: build it with derive_gradients=false");
          }
          return DerivedScalarKernels.residualNorm(inputs.get(0));
        });
  }

  /**
   * PREVIOUS_LAYER_RESID_POST_MLP: RESID_POST_MLP of the previous layer, the embedding at layer
   * 0. Quirk Q2 (faithful, C3 relies on it): with derive_gradients both passes return gradients.
   */
  private static ScalarDeriver previousLayerResidPostMlp(DstConfig config) {
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

  // ---------------------------------------------------------------- autoencoders (§4.2, §5.6, §5.7)

  /** The autoencoder node type a (generic or specific) autoencoder DST refers to. */
  static NodeType autoencoderKind(DerivedScalarType dst) {
    String name = dst.name();
    if (name.contains("MLP_AUTOENCODER")) {
      return NodeType.MLP_AUTOENCODER_LATENT;
    }
    if (name.contains("ATTENTION_AUTOENCODER")) {
      return NodeType.ATTENTION_AUTOENCODER_LATENT;
    }
    return NodeType.AUTOENCODER_LATENT;
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

  private static ActivationLocationType onlineLatentLocation(NodeType kind) {
    return switch (kind) {
      case MLP_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
      case ATTENTION_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
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

  private static ScalarDeriver onlineLatentActTimesGrad(DerivedScalarType dst, DstConfig config) {
    NodeType kind = autoencoderKind(dst);
    return onlineLatent(kind, config)
        .applyLayerwiseTransformWithOther(
            dst,
            ScalarSource.Raw.of(onlineLatentLocation(kind), PassType.BACKWARD),
            (inputs, layer, pass) -> inputs.get(0).mul(inputs.get(1)));
  }

  private static ScalarDeriver onlineError(DerivedScalarType dst, DstConfig config) {
    NodeType kind;
    NodeType inputNodeType;
    switch (dst) {
      case ONLINE_MLP_AUTOENCODER_ERROR -> {
        kind = NodeType.MLP_AUTOENCODER_LATENT;
        inputNodeType = NodeType.MLP_NEURON;
      }
      case ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR -> {
        kind = NodeType.MLP_AUTOENCODER_LATENT;
        inputNodeType = NodeType.RESIDUAL_STREAM_CHANNEL;
      }
      default -> {
        kind = NodeType.ATTENTION_AUTOENCODER_LATENT;
        inputNodeType = NodeType.RESIDUAL_STREAM_CHANNEL;
      }
    }
    AutoencoderContext context = requireAutoencoderContext(config, kind, dst);
    if (context.inputLocation().nodeType() != inputNodeType) {
      throw new UnsupportedDerivationException(
          dst
              + " needs an autoencoder on an activation of node type "
              + inputNodeType
              + ", but the configured "
              + kind
              + " autoencoder reads "
              + context.inputLocation());
    }
    return new ScalarDeriver(
        dst,
        config,
        List.of(ScalarSource.Raw.of(dst.toActivationLocationType(), PassType.FORWARD)),
        noOp(dst));
  }

  /**
   * C7: the offline latents of the AE input activation. Quirk Q7 (faithful): an AE on
   * RESID_DELTA_MLP is applied to RESID_DELTA_MLP_FROM_MLP_POST_ACT (no bout).
   */
  private static ScalarDeriver offlineLatent(NodeType kind, DstConfig config) {
    DerivedScalarType dst = AUTOENCODER_LATENT.updateFromAutoencoderNodeType(kind);
    AutoencoderContext context = requireAutoencoderContext(config, kind, dst);
    DerivedScalarType input =
        context.inputLocation() == ActivationLocationType.RESID_DELTA_MLP
            ? RESID_DELTA_MLP_FROM_MLP_POST_ACT
            : DerivedScalarType.fromActivationLocationType(context.inputLocation());
    if (input.ndimPerTokenSequence() != 2) {
      throw new UnsupportedDerivationException(
          dst + ": offline autoencoders on " + input.ndimPerTokenSequence()
              + "-D activations are not implemented in this version");
    }
    ScalarDeriver inner = make(input, config);
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "offline autoencoder latents have no gradient");
          if (!context.layers().contains(layer)) {
            throw new IllegalStateException(
                dst + ": no autoencoder for layer " + layer + " (has " + context.layers() + ")");
          }
          SparseAutoencoder autoencoder = context.autoencoder(layer);
          return autoencoder.encode(inputs.get(0));
        });
  }

  private static ScalarDeriver offlineWriteNorm(NodeType kind, DstConfig config) {
    DerivedScalarType dst = AUTOENCODER_WRITE_NORM.updateFromAutoencoderNodeType(kind);
    return writeNorm(offlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst));
  }

  // ---------------------------------------------------------------- locations (§2.3)

  /**
   * The location a DST implies under {@code config}: raw DSTs their activation's; autoencoder
   * DSTs their autoencoder input's; residual DSTs ATTN_WRITE → ATTN, PREVIOUS_LAYER_RESID_POST_MLP
   * → END_OF_PREV_LAYER; otherwise the node type's.
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
      return switch (context.inputLocation()) {
        case MLP_POST_ACT, RESID_DELTA_MLP -> Optional.of(LocationWithinLayer.MLP);
        case RESID_DELTA_ATTN -> Optional.of(LocationWithinLayer.ATTN);
        default -> Optional.empty();
      };
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
