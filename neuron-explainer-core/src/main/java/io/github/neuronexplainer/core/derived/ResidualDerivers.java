package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DeriverSupport.*;
import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
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
    return factories;
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
