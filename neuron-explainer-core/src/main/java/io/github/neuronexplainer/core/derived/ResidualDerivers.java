package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static io.github.neuronexplainer.core.derived.DeriverSupport.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The residual-stream DSTs (§4.1, §4.6, §5.3): logits, the residual stream and layer-norm scales
 * passed through, their norms, their projections onto the final residual gradient, token
 * attributions and the residual stream before a layer.
 *
 * <p>Stateless and thread-safe.
 */
final class ResidualDerivers {
  private ResidualDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    factories.put(LOGITS, ResidualDerivers::logits);
    for (DerivedScalarType raw :
        List.of(
            RESID_POST_EMBEDDING,
            RESID_DELTA_MLP,
            RESID_POST_MLP,
            RESID_DELTA_ATTN,
            RESID_POST_ATTN,
            RESID_FINAL_LAYER_NORM_SCALE,
            ATTN_INPUT_LAYER_NORM_SCALE,
            MLP_INPUT_LAYER_NORM_SCALE)) {
      factories.put(raw, DeriverSupport::passthrough);
    }
    factories.put(RESID_POST_EMBEDDING_NORM, norm(ActivationLocationType.RESID_POST_EMBEDDING));
    factories.put(RESID_POST_MLP_NORM, norm(ActivationLocationType.RESID_POST_MLP));
    factories.put(MLP_LAYER_WRITE_NORM, norm(ActivationLocationType.RESID_DELTA_MLP));
    factories.put(RESID_POST_ATTN_NORM, norm(ActivationLocationType.RESID_POST_ATTN));
    factories.put(ATTN_LAYER_WRITE_NORM, norm(ActivationLocationType.RESID_DELTA_ATTN));
    factories.put(
        RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD, projection(RESID_POST_EMBEDDING));
    factories.put(RESID_POST_MLP_PROJ_TO_FINAL_RESIDUAL_GRAD, projection(RESID_POST_MLP));
    factories.put(MLP_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD, projection(RESID_DELTA_MLP));
    factories.put(RESID_POST_ATTN_PROJ_TO_FINAL_RESIDUAL_GRAD, projection(RESID_POST_ATTN));
    factories.put(ATTN_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD, projection(RESID_DELTA_ATTN));
    factories.put(
        PREVIOUS_LAYER_RESID_POST_MLP, (dst, config) -> previousLayerResidPostMlp(config));
    factories.put(
        TOKEN_ATTRIBUTION,
        (dst, config) ->
            actTimesGrad(ActivationLocationType.RESID_POST_EMBEDDING, TOKEN_ATTRIBUTION, config)
                .applyTransform(dst, x -> x.sum(new int[] {1}, true)));
    factories.put(
        ALWAYS_ONE,
        (dst, config) ->
            passthrough(RESID_POST_EMBEDDING, config)
                .applyTransform(dst, x -> x.get(new NDIndex(":, 0:1")).onesLike()));
    factories.put(
        VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION, ResidualDerivers::vocabTokenWriteToInputDirection);
    return factories;
  }

  /**
   * VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION: for every vocabulary token, the pre-activation the node
   * of {@code activationIndexForFakeGrad} would have if the residual stream were exactly the
   * token's embedding (an MLP neuron: ln_2 then the input layer; an MLP autoencoder latent: the
   * whole MLP, then the encoder), the same row for every sequence token {@code [T, vocab]}.
   */
  private static ScalarDeriver vocabTokenWriteToInputDirection(
      DerivedScalarType dst, DstConfig config) {
    ActivationIndex index = config.activationIndexForFakeGrad();
    if (index == null) {
      throw new UnsupportedDerivationException(
          dst
              + " needs DstConfig.activationIndexForFakeGrad (the MLP neuron or MLP autoencoder latent"
              + " whose input direction is wanted)");
    }
    ActivationLocationType location = index.activationLocationType();
    boolean latent =
        location == ActivationLocationType.ONLINE_AUTOENCODER_LATENT
            || location == ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
    if (location != ActivationLocationType.MLP_POST_ACT && !latent) {
      throw new UnsupportedDerivationException(
          dst + " is defined for MLP_POST_ACT or MLP autoencoder latents, not " + location);
    }
    if (index.tensorIndices().size() < 2 || index.tensorIndices().get(1) == null) {
      throw new IllegalArgumentException(
          dst + " needs the neuron or latent as the second tensor index of " + index);
    }
    int node = index.tensorIndices().get(1);
    int layer = index.layerIndex();
    ModelContext model = config.requireModelContext(dst);
    AutoencoderContext autoencoder =
        latent ? config.autoencoderContext(NodeType.MLP_AUTOENCODER_LATENT) : null;
    if (latent && autoencoder == null) {
      throw new UnsupportedDerivationException(
          dst + " of a latent needs the MLP autoencoder context");
    }
    return passthrough(RESID_POST_EMBEDDING, config)
        .applyTransform(
            dst,
            x -> {
              NDManager m = x.getManager();
              NDArray ln =
                  TransformerMath.layerNorm(
                      model.embedding(m),
                      model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, layer, m),
                      model.getWeight(WeightLocationType.LAYER_NORM_BIAS_PRE_MLP, layer, m),
                      (float) model.layerNormEpsilon());
              NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, layer, m);
              NDArray bin = model.getWeight(WeightLocationType.MLP_TO_HIDDEN_BIAS, layer, m);
              NDArray perToken;
              if (!latent) {
                perToken = ln.matMul(win.get(new NDIndex(":, {}", node))).add(bin.get(node));
              } else {
                NDArray input = TransformerMath.gelu(ln.matMul(win).add(bin));
                if (autoencoder.inputLocation() == ActivationLocationType.RESID_DELTA_MLP) {
                  input =
                      input
                          .matMul(model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, m))
                          .add(model.getWeight(WeightLocationType.MLP_TO_RESIDUAL_BIAS, layer, m));
                }
                perToken =
                    autoencoder
                        .autoencoder(layer)
                        .encodePreActivation(input)
                        .get(new NDIndex(":, {}", node));
              }
              long tokens = x.getShape().get(0);
              return perToken.reshape(1, -1).repeat(0, tokens);
            });
  }

  private static DeriverFactory norm(ActivationLocationType residual) {
    return (dst, config) -> residualNorm(residual, dst, config);
  }

  private static DeriverFactory projection(DerivedScalarType residual) {
    return (dst, config) -> residualProjection(residual, dst, config);
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

  /** §5.3 residual projections onto g (T, 1); quirk Q6 (faithful): RESID_POST_MLP at NL−1 is 0. */
  private static ScalarDeriver residualProjection(
      DerivedScalarType residual, DerivedScalarType dst, DstConfig config) {
    FinalResidualGradSource g = finalResidualGrad(config, dst);
    return DeriverSupport.residualProjection(passthrough(residual, config), dst, g);
  }

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
}
