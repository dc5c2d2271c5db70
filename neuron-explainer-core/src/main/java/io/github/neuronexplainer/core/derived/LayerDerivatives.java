package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.List;

/**
 * C8: the derivatives of one layer's MLP or attention w.r.t. the residual stream before it, as VJPs
 * (a cotangent on an activation back to the residual) and JVPs (a change of the residual forward to
 * an activation), computed analytically from the raw activations of the pass instead of recomputing
 * the layer under autograd as the original does. Used by the edge-attribution and
 * reconstituted-gradient families.
 *
 * <p>Stateless and thread-safe. Results belong to the manager of the residual (or probabilities).
 */
final class LayerDerivatives {
  private LayerDerivatives() {}

  /**
   * The VJP of MLP layer {@code layer} for a cotangent (N) on the post-activations of row {@code
   * token}: through GELU, the input projection and the MLP layer norm → (T, D).
   */
  static NDArray mlpVjp(
      ModelContext model,
      int layer,
      NDArray residual,
      NDArray pre,
      int token,
      NDArray cotangent,
      boolean detach) {
    NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, layer, residual.getManager());
    NDArray u = residual.zerosLike();
    u.set(
        new NDIndex(token),
        win.matMul(cotangent.mul(TransformerMath.geluDerivative(pre.get(token)))));
    NDArray gain =
        model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, layer, residual.getManager());
    return DerivedScalarKernels.layerNormVjp(
        residual, gain, (float) model.layerNormEpsilon(), u, detach);
  }

  /**
   * The VJP of attention layer {@code layer} from cotangents on its probabilities {@code dProbs}
   * (T, U, H) and on its weighted sum of values {@code dZ} (T, H, e) (either may be null) back to
   * the attention layer norm's output (T, D). {@code only} restricts the flow to one of Q, K and V
   * (the original's detach hooks on the other two), null lets it through all three. Raw queries and
   * keys already carry the model's q/k scale each, so the logits' derivative w.r.t. an unscaled
   * projection is the scale times the other side.
   */
  static NDArray attentionVjp(
      ModelContext model,
      int layer,
      NDArray probs,
      NDArray queries,
      NDArray keys,
      NDArray values,
      NDArray dProbs,
      NDArray dZ,
      ActivationLocationType only) {
    NDManager manager = probs.getManager();
    NDArray dA = dProbs == null ? probs.zerosLike() : dProbs;
    NDArray du =
        manager.zeros(
            new Shape(
                probs.getShape().get(0), model.dimensionSize(Dimension.RESIDUAL_STREAM_CHANNELS)),
            probs.getDataType());
    if (dZ != null) {
      dA = dA.add(DerivedScalarKernels.maskedPairProducts(dZ, values));
      if (only == null || only == ActivationLocationType.ATTN_VALUE) {
        // dV[u,h,:] = Σ_t A[t,u,h]·dZ[t,h,:]
        NDArray dV = probs.transpose(2, 1, 0).batchMatMul(dZ.transpose(1, 0, 2)).transpose(1, 0, 2);
        du =
            du.add(
                DerivedScalarKernels.perHeadBackProjection(
                    dV, model.getWeight(WeightLocationType.ATTN_TO_VALUE, layer, manager)));
      }
    }
    NDArray dLogits = DerivedScalarKernels.softmaxJvp(probs, dA).mul(model.queryKeyScale());
    if (only == null || only == ActivationLocationType.ATTN_QUERY) {
      // dQ[t,h,:] = Σ_u dLogits[t,u,h]·K[u,h,:]
      NDArray dQ = DerivedScalarKernels.headwiseProducts(dLogits, keys, false);
      du =
          du.add(
              DerivedScalarKernels.perHeadBackProjection(
                  dQ, model.getWeight(WeightLocationType.ATTN_TO_QUERY, layer, manager)));
    }
    if (only == null || only == ActivationLocationType.ATTN_KEY) {
      // dK[u,h,:] = Σ_t dLogits[t,u,h]·Q[t,h,:]
      NDArray dK = DerivedScalarKernels.headwiseProducts(dLogits, queries, true);
      du =
          du.add(
              DerivedScalarKernels.perHeadBackProjection(
                  dK, model.getWeight(WeightLocationType.ATTN_TO_KEY, layer, manager)));
    }
    return du;
  }

  /**
   * The JVP of attention layer {@code layer}'s output (RESID_DELTA_ATTN without its bias, T × D)
   * for a change {@code dx} (T, D) of its layer norm's output, through Q, K and V.
   */
  static NDArray attentionJvp(
      ModelContext model,
      int layer,
      NDArray probs,
      NDArray queries,
      NDArray keys,
      NDArray values,
      NDArray dx) {
    NDManager manager = probs.getManager();
    float scale = model.queryKeyScale();
    NDArray dQ =
        DerivedScalarKernels.perHeadProjection(
                dx, model.getWeight(WeightLocationType.ATTN_TO_QUERY, layer, manager))
            .mul(scale);
    NDArray dK =
        DerivedScalarKernels.perHeadProjection(
                dx, model.getWeight(WeightLocationType.ATTN_TO_KEY, layer, manager))
            .mul(scale);
    NDArray dV =
        DerivedScalarKernels.perHeadProjection(
            dx, model.getWeight(WeightLocationType.ATTN_TO_VALUE, layer, manager));
    NDArray dLogits =
        DerivedScalarKernels.maskedPairProducts(dQ, keys)
            .add(DerivedScalarKernels.maskedPairProducts(queries, dK));
    NDArray dA = DerivedScalarKernels.softmaxJvp(probs, dLogits);
    // dZ[t,h,:] = Σ_u dA[t,u,h]·V[u,h,:] + A[t,u,h]·dV[u,h,:]
    NDArray dZ =
        dA.transpose(2, 0, 1)
            .batchMatMul(values.transpose(1, 0, 2))
            .add(probs.transpose(2, 0, 1).batchMatMul(dV.transpose(1, 0, 2)))
            .transpose(1, 0, 2);
    NDArray wo = model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, manager);
    long[] w = wo.getShape().getShape();
    return dZ.reshape(dZ.getShape().get(0), w[0] * w[1]).matMul(wo.reshape(w[0] * w[1], w[2]));
  }

  /** {@code gelu'(pre) ⊙ (LNjvp₂(w)·Win)}: the MLP post-activation's change. */
  static NDArray mlpPostJvp(
      ModelContext model, int layer, NDArray residual, NDArray pre, NDArray write, boolean detach) {
    NDArray gain =
        model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, layer, residual.getManager());
    NDArray win = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, layer, residual.getManager());
    NDArray dx =
        DerivedScalarKernels.layerNormJvp(
            residual, gain, (float) model.layerNormEpsilon(), write, detach);
    return dx.matMul(win).mul(TransformerMath.geluDerivative(pre));
  }

  /**
   * φ' of the ReLU-type latent activations (ReLU, TopK) at latent value(s) {@code z}: 1 where
   * active.
   */
  static NDArray activeLatent(NDArray z) {
    return z.gt(0).toType(z.getDataType(), false);
  }

  /**
   * The raw activations {@link #latentVjp} needs besides the residual, for {@code context}'s
   * autoencoder: the MLP pre-activations, or the attention probabilities, queries, keys and values.
   */
  static List<ScalarSource> latentVjpSources(AutoencoderContext context) {
    if (context.inputLocation() == ActivationLocationType.RESID_DELTA_ATTN) {
      return List.of(
          ScalarSource.Raw.of(ActivationLocationType.ATTN_QK_PROBS, PassType.FORWARD),
          ScalarSource.Raw.of(ActivationLocationType.ATTN_QUERY, PassType.FORWARD),
          ScalarSource.Raw.of(ActivationLocationType.ATTN_KEY, PassType.FORWARD),
          ScalarSource.Raw.of(ActivationLocationType.ATTN_VALUE, PassType.FORWARD));
    }
    return List.of(ScalarSource.Raw.of(ActivationLocationType.MLP_PRE_ACT, PassType.FORWARD));
  }

  /**
   * The VJP of autoencoder latent {@code latent} at row {@code token} of layer {@code layer}, with
   * cotangent {@code factor} on its pre-activation, back to the residual stream before the
   * autoencoder's input (T, D): through the encoder row, then the MLP (MLP_POST_ACT,
   * RESID_DELTA_MLP) or the whole attention layer (RESID_DELTA_ATTN). {@code activations} are those
   * of {@link #latentVjpSources}, in order.
   */
  static NDArray latentVjp(
      ModelContext model,
      AutoencoderContext context,
      int layer,
      NDArray residual,
      List<NDArray> activations,
      int token,
      int latent,
      NDArray factor,
      boolean detach) {
    NDManager manager = residual.getManager();
    NDArray cotangent = context.autoencoder(layer).encoderWeight(manager).get(latent).mul(factor);
    return switch (context.inputLocation()) {
      case MLP_POST_ACT ->
          mlpVjp(model, layer, residual, activations.get(0), token, cotangent, detach);
      case RESID_DELTA_MLP ->
          mlpVjp(
              model,
              layer,
              residual,
              activations.get(0),
              token,
              model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, manager).matMul(cotangent),
              detach);
      case RESID_DELTA_ATTN -> {
        NDArray wo = model.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, layer, manager);
        NDArray values = activations.get(3);
        NDArray dZ = values.zerosLike();
        dZ.set(new NDIndex(token), wo.matMul(cotangent)); // (H, e)
        NDArray du =
            attentionVjp(
                model,
                layer,
                activations.get(0),
                activations.get(1),
                activations.get(2),
                values,
                null,
                dZ,
                null);
        NDArray gain = model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_ATTN, layer, manager);
        yield DerivedScalarKernels.layerNormVjp(
            residual, gain, (float) model.layerNormEpsilon(), du, detach);
      }
      default ->
          throw new UnsupportedDerivationException(
              "No residual stream before an autoencoder reading " + context.inputLocation());
    };
  }
}
