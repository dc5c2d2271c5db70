package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static io.github.neuronexplainer.core.derived.DeriverSupport.*;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The autoencoder DSTs (§4.2, §5.6, §5.7): online latents and errors (spliced into the forward
 * pass), offline latents (encoded from stored activations), and their writes, write norms, act ×
 * grad and direct effects. Generic DSTs use the single configured autoencoder; the MLP_ and
 * ATTENTION_ variants the autoencoder of their node type ({@link
 * DerivedScalarType#autoencoderNodeType}).
 *
 * <p>Stateless and thread-safe.
 */
final class AutoencoderDerivers {
  private AutoencoderDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    for (NodeType kind :
        List.of(
            NodeType.AUTOENCODER_LATENT,
            NodeType.MLP_AUTOENCODER_LATENT,
            NodeType.ATTENTION_AUTOENCODER_LATENT)) {
      factories.put(
          ONLINE_AUTOENCODER_LATENT.updateFromAutoencoderNodeType(kind),
          (dst, config) -> onlineLatent(kind, config));
      factories.put(
          AUTOENCODER_LATENT.updateFromAutoencoderNodeType(kind),
          (dst, config) -> offlineLatent(kind, config));
      factories.put(
          AUTOENCODER_WRITE_NORM.updateFromAutoencoderNodeType(kind),
          (dst, config) -> offlineWriteNorm(kind, config));
      factories.put(
          ONLINE_AUTOENCODER_ACT_TIMES_GRAD.updateFromAutoencoderNodeType(kind),
          AutoencoderDerivers::onlineLatentActTimesGrad);
      factories.put(
          ONLINE_AUTOENCODER_WRITE_NORM.updateFromAutoencoderNodeType(kind),
          (dst, config) ->
              writeNorm(
                  onlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst)));
      factories.put(
          ONLINE_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD.updateFromAutoencoderNodeType(kind),
          (dst, config) ->
              nodeWriteToFinalResidualGrad(
                  onlineLatent(kind, config),
                  dst,
                  autoencoderWriteTensor(config, kind, dst),
                  config));
      factories.put(
          ONLINE_AUTOENCODER_WRITE.updateFromAutoencoderNodeType(kind),
          (dst, config) ->
              writeVectors(
                  onlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst)));
    }
    for (DerivedScalarType error :
        List.of(
            ONLINE_MLP_AUTOENCODER_ERROR,
            ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR,
            ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR)) {
      factories.put(error, AutoencoderDerivers::onlineError);
    }
    factories.put(
        ONLINE_MLP_AUTOENCODER_ERROR_ACT_TIMES_GRAD,
        (dst, config) ->
            onlineError(ONLINE_MLP_AUTOENCODER_ERROR, config)
                .applyLayerwiseTransformWithOther(
                    dst,
                    ScalarSource.Raw.of(
                        ActivationLocationType.ONLINE_MLP_AUTOENCODER_ERROR, PassType.BACKWARD),
                    (in, layer, pass) -> in.get(0).mul(in.get(1))));
    factories.put(
        ONLINE_MLP_AUTOENCODER_ERROR_WRITE_NORM,
        (dst, config) ->
            writeNorm(
                onlineError(ONLINE_MLP_AUTOENCODER_ERROR, config),
                dst,
                mlpWriteTensor(config, dst)));
    factories.put(
        ONLINE_MLP_AUTOENCODER_ERROR_WRITE_TO_FINAL_RESIDUAL_GRAD,
        (dst, config) ->
            nodeWriteToFinalResidualGrad(
                onlineError(ONLINE_MLP_AUTOENCODER_ERROR, config),
                dst,
                mlpWriteTensor(config, dst),
                config));
    return factories;
  }

  private static ScalarDeriver onlineLatentActTimesGrad(DerivedScalarType dst, DstConfig config) {
    NodeType kind = dst.autoencoderNodeType().orElseThrow();
    return onlineLatent(kind, config)
        .applyLayerwiseTransformWithOther(
            dst,
            ScalarSource.Raw.of(onlineLatentLocation(kind), PassType.BACKWARD),
            (inputs, layer, pass) -> inputs.get(0).mul(inputs.get(1)));
  }

  private static ScalarDeriver onlineError(DerivedScalarType dst, DstConfig config) {
    NodeType kind = dst.autoencoderNodeType().orElseThrow();
    // The error has the shape of the autoencoder's input: MLP neurons or the residual stream.
    NodeType inputNodeType = dst.toActivationLocationType().nodeType();
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
    UnaryOperator<NDArray> rows = encoderRows(dst, input);
    ScalarDeriver inner = ScalarDerivers.makeScalarDeriver(input, config);
    return inner.applyLayerwiseTransform(
        dst,
        (inputs, layer, pass) -> {
          requireForward(dst, pass, "offline autoencoder latents have no gradient");
          if (!context.layers().contains(layer)) {
            throw new IllegalStateException(
                dst + ": no autoencoder for layer " + layer + " (has " + context.layers() + ")");
          }
          SparseAutoencoder autoencoder = context.autoencoder(layer);
          return autoencoder.encode(rows.apply(inputs.get(0)));
        });
  }

  /**
   * C7's reshape of an offline autoencoder's input into rows of the autoencoder's inputs: (T, K) as
   * is; (T, U, K) → the C1 lower triangle (P, K); (T, H, K) → (T, H·K); (T, U, H, K) → (P·H, K),
   * pair-major and head-minor. As in the original, the latents' first dimension is then P or P·H,
   * not T, for the attention shapes.
   */
  private static UnaryOperator<NDArray> encoderRows(
      DerivedScalarType dst, DerivedScalarType input) {
    List<Dimension> spec = input.shapeSpecPerTokenSequence();
    if (spec.size() == 2) {
      return x -> x;
    }
    if (spec.size() == 3 && spec.get(1) == Dimension.ATTENDED_TO_SEQUENCE_TOKENS) {
      return DerivedScalarKernels::flattenLowerTriangle;
    }
    if (spec.size() == 3 && spec.get(1) == Dimension.ATTN_HEADS) {
      return x -> x.reshape(x.getShape().get(0), -1);
    }
    if (spec.size() == 4
        && spec.get(1) == Dimension.ATTENDED_TO_SEQUENCE_TOKENS
        && spec.get(2) == Dimension.ATTN_HEADS) {
      return x -> {
        NDArray pairs = DerivedScalarKernels.flattenLowerTriangle(x); // (P, H, K)
        return pairs.reshape(-1, pairs.getShape().get(2));
      };
    }
    throw new UnsupportedDerivationException(
        dst
            + ": the original applies offline autoencoders to activations of shape (T, K), (T, U, K),"
            + " (T, H, K) or (T, U, H, K) only; "
            + input
            + " has "
            + spec);
  }

  private static ScalarDeriver offlineWriteNorm(NodeType kind, DstConfig config) {
    DerivedScalarType dst = AUTOENCODER_WRITE_NORM.updateFromAutoencoderNodeType(kind);
    return writeNorm(offlineLatent(kind, config), dst, autoencoderWriteTensor(config, kind, dst));
  }
}
