package io.github.neuronexplainer.core.math;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The transformer's elementary operations, written once and used by both the model and the derived
 * scalars that recompute parts of it (the original copy-pasted them into {@code reconstituted.py}).
 * Each follows the original's operation order so results match bitwise where libtorch allows.
 *
 * <p>Scalars are always passed as arrays ({@link #constant}): DJL's {@code NDArray.mul(Number)} and
 * friends wrap the number in a tensor over a Java buffer that can be garbage-collected while
 * autograd still holds it, which silently corrupts gradients.
 *
 * <p>Stateless and thread-safe. Results belong to the manager of the first array argument.
 */
public final class TransformerMath {
  private static final double GELU_C = Math.sqrt(2 / Math.PI);

  private TransformerMath() {}

  /**
   * A 0-d float32 array holding {@code value}, owned by {@code like}'s manager: use it instead of
   * the {@code Number} overloads in anything autograd may differentiate (see the class comment).
   */
  public static NDArray constant(NDArray like, float value) {
    return like.getManager().create(value);
  }

  /** GPT-2's tanh-approximated GELU: {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}. */
  public static NDArray gelu(NDArray x) {
    // x·x·x is what torch.pow(x, 3) computes (its integer-exponent fast path), bitwise
    NDArray cubed = x.mul(x).mul(x);
    NDArray inner =
        x.add(cubed.mul(constant(x, 0.044715f)))
            .mul(constant(x, (float) GELU_C))
            .tanh()
            .add(constant(x, 1f));
    return x.mul(constant(x, 0.5f)).mul(inner);
  }

  /**
   * {@link #gelu} for passes that record no gradients: the same operations in the same order, but
   * in place on two fresh buffers instead of eight, which saves their allocation and the page
   * faults of first touching them (a third of a GPT-2 MLP's time went to the eight). Equal to
   * {@code gelu} bitwise (the final 0.5 scaling is exact and commutes). Not differentiable:
   * autograd needs the intermediate values that the in-place operations overwrite.
   */
  public static NDArray geluWithoutGradient(NDArray x) {
    NDArray inner = x.mul(x);
    inner.muli(x).muli(constant(x, 0.044715f)).addi(x).muli(constant(x, (float) GELU_C));
    NDArray out = inner.tanh();
    inner.close();
    return out.addi(constant(x, 1f)).muli(x).muli(constant(x, 0.5f));
  }

  /**
   * The derivative of {@link #gelu}: {@code 0.5·(1 + tanh(u)) + 0.5·x·(1 − tanh²(u))·√(2/π)·(1 +
   * 3·0.044715·x²)} with {@code u = √(2/π)·(x + 0.044715·x³)} (catalogue C8).
   */
  public static NDArray geluDerivative(NDArray x) {
    NDArray squared = x.mul(x);
    NDArray tanh =
        x.add(squared.mul(x).mul(constant(x, 0.044715f))).mul(constant(x, (float) GELU_C)).tanh();
    NDArray left = tanh.add(constant(x, 1f)).mul(constant(x, 0.5f));
    NDArray right =
        x.mul(constant(x, 0.5f))
            .mul(constant(x, 1f).sub(tanh.mul(tanh)))
            .mul(constant(x, (float) GELU_C))
            .mul(squared.mul(constant(x, 3 * 0.044715f)).add(constant(x, 1f)));
    return left.add(right);
  }

  /**
   * The scale applied to queries and to keys, each, before their dot product: {@code
   * 1/sqrt(sqrt(dHead))}, so the logits are scaled by {@code 1/sqrt(dHead)}, as the original's
   * attention ({@code qk_scale}) computes it.
   */
  public static float queryKeyScale(int dHead) {
    return (float) (1.0 / Math.sqrt(Math.sqrt(dHead)));
  }

  /** Layer-norm scale of an already mean-subtracted {@code x}: {@code sqrt(mean(x²) + eps)}. */
  public static NDArray layerNormScale(NDArray centered, float eps) {
    return centered.square().mean(new int[] {-1}, true).add(constant(centered, eps)).sqrt();
  }

  /**
   * Layer norm as the original computes it: mean subtraction, division by {@link #layerNormScale},
   * then gain and bias (either may be null to skip it).
   */
  public static NDArray layerNorm(NDArray x, NDArray gain, NDArray bias, float eps) {
    NDArray centered = x.sub(x.mean(new int[] {-1}, true));
    NDArray normalized = centered.div(layerNormScale(centered, eps));
    if (gain != null) {
      normalized = normalized.mul(gain);
    }
    return bias == null ? normalized : normalized.add(bias);
  }

  /**
   * Additive attention mask {@code [b, 1, nQueries, nKeys]}: 0 where query may attend to key, −∞
   * elsewhere. Causal: the queries are the last {@code nQueries} of {@code nKeys} positions. Pad:
   * as in the original, a non-pad query never sees a pad key and a pad query only sees pad keys
   * (applied only when some position is a pad).
   *
   * @param pad {@code [b, nKeys]} pad flags (true = pad)
   */
  public static NDArray attentionMask(NDArray pad, long nQueries, NDManager manager) {
    long batch = pad.getShape().get(0);
    int nKeys = (int) pad.getShape().get(1);
    int q = (int) nQueries;
    boolean[] isPad = pad.toBooleanArray();
    boolean anyPad = false;
    for (boolean p : isPad) {
      anyPad |= p;
    }
    float[] mask = new float[(int) (batch * q * nKeys)];
    int offset = nKeys - q;
    for (int b = 0; b < batch; b++) {
      for (int i = 0; i < q; i++) {
        int queryPosition = offset + i;
        boolean queryIsPad = isPad[b * nKeys + queryPosition];
        for (int j = 0; j < nKeys; j++) {
          boolean masked = j > queryPosition || (anyPad && (queryIsPad ^ isPad[b * nKeys + j]));
          if (masked) {
            mask[(b * q + i) * nKeys + j] = Float.NEGATIVE_INFINITY;
          }
        }
      }
    }
    return manager.create(mask, new Shape(batch, 1, q, nKeys));
  }

  /**
   * Lower-triangle indices {@code (q, k)} with {@code k ≤ q}, in {@code torch.tril_indices} order.
   */
  public static int[][] trilIndices(int n) {
    int[][] result = new int[2][n * (n + 1) / 2];
    int idx = 0;
    for (int q = 0; q < n; q++) {
      for (int k = 0; k <= q; k++) {
        result[0][idx] = q;
        result[1][idx] = k;
        idx++;
      }
    }
    return result;
  }
}
