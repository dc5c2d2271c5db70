package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static io.github.neuronexplainer.core.derived.DeriverSupport.*;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The attention DSTs (§4.3–§4.6, §5.4): queries, keys, values and probabilities, the heads' writes
 * through {@code W_O} (per token pair, flattened or per token) and their direct effects.
 *
 * <p>Stateless and thread-safe.
 */
final class AttentionDerivers {
  private AttentionDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    for (DerivedScalarType raw :
        List.of(
            ATTN_QUERY,
            ATTN_KEY,
            ATTN_VALUE,
            ATTN_QK_LOGITS,
            ATTN_QK_PROBS,
            ATTN_WEIGHTED_SUM_OF_VALUES)) {
      factories.put(raw, DeriverSupport::passthrough);
    }
    factories.put(
        ATTN_WRITE_NORM,
        (dst, config) ->
            unflattenedAttnWriteNorm(config)
                .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle));
    factories.put(
        FLATTENED_ATTN_POST_SOFTMAX,
        (dst, config) ->
            passthrough(ATTN_QK_PROBS, config)
                .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle));
    factories.put(
        ATTN_ACT_TIMES_GRAD,
        (dst, config) ->
            unflattenedActTimesGrad(config)
                .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle));
    factories.put(
        ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD,
        (dst, config) ->
            unflattenedAttnWriteToFinalResidualGrad(config)
                .applyTransform(dst, DerivedScalarKernels::flattenLowerTriangle));
    factories.put(
        ATTN_WRITE_NORM_PER_SEQUENCE_TOKEN, (dst, config) -> attnWriteNormPerSequenceToken(config));
    factories.put(
        ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD_PER_SEQUENCE_TOKEN,
        (dst, config) ->
            valueChannelWriteToFinalResidualGrad(
                passthrough(ATTN_WEIGHTED_SUM_OF_VALUES, config), dst, config));
    factories.put(
        ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN,
        (dst, config) ->
            unflattenedActTimesGrad(config).applyTransform(dst, x -> x.sum(new int[] {1})));
    factories.put(
        UNFLATTENED_ATTN_ACT_TIMES_GRAD, (dst, config) -> unflattenedActTimesGrad(config));
    factories.put(UNFLATTENED_ATTN_WRITE_NORM, (dst, config) -> unflattenedAttnWriteNorm(config));
    factories.put(
        UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD,
        (dst, config) -> unflattenedAttnWriteToFinalResidualGrad(config));
    factories.put(ATTN_WRITE, (dst, config) -> attnWrite(config));
    factories.put(
        ATTN_WRITE_SUM_HEADS,
        (dst, config) -> attnWrite(config).applyTransform(dst, x -> x.sum(new int[] {2})));
    factories.put(ATTN_WEIGHTED_VALUE, (dst, config) -> attnWeightedValue(config));
    return factories;
  }

  private static ScalarDeriver unflattenedActTimesGrad(DstConfig config) {
    return actTimesGrad(
        ActivationLocationType.ATTN_QK_PROBS, UNFLATTENED_ATTN_ACT_TIMES_GRAD, config);
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
          NDArray out =
              DerivedScalarKernels.valueChannelWriteToDirection(weighted, wo, inputs.get(1));
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
}
