package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static io.github.neuronexplainer.core.derived.DeriverSupport.*;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import java.util.EnumMap;
import java.util.Map;

/**
 * The MLP neuron DSTs (§4.1–§4.5, §5.4): activations, their writes to the residual stream through
 * {@code Wout} and the direct effects of those writes.
 *
 * <p>Stateless and thread-safe.
 */
final class MlpDerivers {
  private MlpDerivers() {}

  static Map<DerivedScalarType, DeriverFactory> factories() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    factories.put(MLP_PRE_ACT, DeriverSupport::passthrough);
    factories.put(MLP_POST_ACT, DeriverSupport::passthrough);
    factories.put(
        RESID_DELTA_MLP_FROM_MLP_POST_ACT,
        (dst, config) -> write(postActivations(config), dst, mlpWriteTensor(config, dst)));
    factories.put(
        MLP_WRITE_NORM,
        (dst, config) -> writeNorm(postActivations(config), dst, mlpWriteTensor(config, dst)));
    factories.put(
        MLP_ACT_TIMES_GRAD,
        (dst, config) -> actTimesGrad(ActivationLocationType.MLP_POST_ACT, dst, config));
    factories.put(
        MLP_WRITE_TO_FINAL_RESIDUAL_GRAD,
        (dst, config) ->
            nodeWriteToFinalResidualGrad(
                postActivations(config), dst, mlpWriteTensor(config, dst), config));
    factories.put(
        MLP_WRITE,
        (dst, config) -> writeVectors(postActivations(config), dst, mlpWriteTensor(config, dst)));
    return factories;
  }

  private static ScalarDeriver postActivations(DstConfig config) {
    return passthrough(MLP_POST_ACT, config);
  }
}
