package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.math.TransformerMath;

/**
 * The tensor math of the DSTs, one method per formula of the catalogue (§2.5, §4, §5). Shapes are
 * per token sequence: T tokens, U attended-to tokens, H heads, e head channels, D residual
 * channels, N nodes. Results attach to the first input's manager (callers run inside a scope).
 *
 * <p>Stateless and thread-safe.
 */
final class DerivedScalarKernels {
  private DerivedScalarKernels() {}

  /**
   * C1: the lower triangle of {@code x} (T, U, ...) flattened in row-major (t, u ≤ t) order into
   * (P, ...), P = T(T+1)/2 for T = U; rows t ≥ U have U entries each.
   */
  static NDArray flattenLowerTriangle(NDArray x) {
    long[] shape = x.getShape().getShape();
    int t = (int) shape[0];
    int u = (int) shape[1];
    int pairs = 0;
    for (int q = 0; q < t; q++) {
      pairs += Math.min(q + 1, u);
    }
    long[] rows = new long[pairs];
    int p = 0;
    for (int q = 0; q < t; q++) {
      for (int k = 0; k <= q && k < u; k++) {
        rows[p++] = (long) q * u + k;
      }
    }
    long[] restShape = new long[shape.length - 1];
    restShape[0] = (long) t * u;
    System.arraycopy(shape, 2, restShape, 1, shape.length - 2);
    NDManager manager = x.getManager();
    NDArray index = manager.create(rows);
    NDArray flat = x.reshape(new Shape(restShape));
    return flat.get(new NDIndex("{}", index));
  }

  /** {@code ||W[n, :]||₂} per row of a write tensor (N, D) → (N,). */
  static NDArray rowNorms(NDArray writeTensor) {
    return writeTensor.norm(new int[] {1}, false);
  }

  /** §5.4 summed write {@code Σ_n a[t,n]·W[n,:]} → (T, D). */
  static NDArray write(NDArray activations, NDArray writeTensor) {
    return activations.matMul(writeTensor);
  }

  /** §5.4 write vectors {@code a[t,n]·W[n,:]} → (T, N, D). */
  static NDArray writeVectors(NDArray activations, NDArray writeTensor) {
    return activations.expandDims(2).mul(writeTensor.expandDims(0));
  }

  /** C4 for node activations: {@code a[t,n]·Σ_d W[n,d]·g[t,d]} → (T, N). */
  static NDArray nodeWriteToDirection(NDArray activations, NDArray writeTensor, NDArray g) {
    int[] rows = sparseRows(g);
    if (rows == null) {
      return activations.mul(g.matMul(writeTensor.transpose()));
    }
    // Only a few tokens have a direction (e.g. a loss at the last token): matrix-vector products.
    NDArray out = activations.zerosLike();
    for (int t : rows) {
      out.set(new NDIndex(t), activations.get(t).mul(writeTensor.matMul(g.get(t))));
    }
    return out;
  }

  /**
   * The rows of {@code g} (T, D) that are not all zero, or null when more than a quarter are (then
   * the dense computation is cheaper). NaN rows count as nonzero.
   */
  static int[] sparseRows(NDArray g) {
    float[] rowSums = g.abs().sum(new int[] {1}).toFloatArray();
    int[] rows = new int[rowSums.length];
    int n = 0;
    for (int t = 0; t < rowSums.length; t++) {
      if (!(rowSums[t] == 0f)) {
        rows[n++] = t;
      }
    }
    return n * 4 > rowSums.length ? null : java.util.Arrays.copyOf(rows, n);
  }

  /** C4 for residual-basis activations: {@code Σ_d x[t,d]·g[t,d]} → (T, 1). */
  static NDArray residualProjection(NDArray x, NDArray g) {
    return x.mul(g).sum(new int[] {1}, true);
  }

  /** {@code Σ_e V[u,h,e]·WO[h,e,:]} → (U, H, D): each (token, head)'s write per unit attention. */
  static NDArray valueWrites(NDArray values, NDArray attnToResidual) {
    // (H, U, e) x (H, e, D) -> (H, U, D) -> (U, H, D)
    return values.transpose(1, 0, 2).batchMatMul(attnToResidual).transpose(1, 0, 2);
  }

  /** §4.4 {@code ||Σ_e V[u,h,e]·WO[h,e,:]||} → (U, H). */
  static NDArray valueWriteNorms(NDArray values, NDArray attnToResidual) {
    return valueWrites(values, attnToResidual).norm(new int[] {2}, false);
  }

  /** §4.6 {@code A[t,u,h]·V[u,h,e]} → (T, U, H, e). */
  static NDArray weightedValues(NDArray probs, NDArray values) {
    return probs.expandDims(3).mul(values.expandDims(0));
  }

  /** §5.4 {@code A[t,u,h]·Σ_e V[u,h,e]·WO[h,e,:]} → (T, U, H, D). */
  static NDArray attentionWrites(NDArray probs, NDArray values, NDArray attnToResidual) {
    return probs.expandDims(3).mul(valueWrites(values, attnToResidual).expandDims(0));
  }

  /** {@code P[t,h,e] = Σ_d WO[h,e,d]·g[t,d]} → (T, H, e). */
  static NDArray directionPerHeadChannel(NDArray attnToResidual, NDArray g) {
    long[] wo = attnToResidual.getShape().getShape();
    NDArray flat = attnToResidual.reshape(wo[0] * wo[1], wo[2]);
    return g.matMul(flat.transpose()).reshape(g.getShape().get(0), wo[0], wo[1]);
  }

  /**
   * C4 for V channels: weighted values (T, H, e) or (T, U, H, e) dotted with the direction at the
   * query token → (T, H) or (T, U, H).
   */
  static NDArray valueChannelWriteToDirection(
      NDArray weightedValues, NDArray attnToResidual, NDArray g) {
    NDArray p = directionPerHeadChannel(attnToResidual, g);
    if (weightedValues.getShape().dimension() == 4) {
      p = p.expandDims(1);
    }
    return weightedValues.mul(p).sum(new int[] {weightedValues.getShape().dimension() - 1});
  }

  /**
   * {@code A[t,u,h]·Σ_e V[u,h,e]·P[t,h,e]} with {@code P = directionPerHeadChannel(WO, g)} → (T, U,
   * H): the V-channel kernel of C4 applied to ATTN_WEIGHTED_VALUE, computed without materialising
   * the (T, U, H, e) weighted values (one batched matmul per head instead).
   */
  static NDArray attentionWriteToDirection(
      NDArray probs, NDArray values, NDArray attnToResidual, NDArray g) {
    int[] rows = sparseRows(g);
    if (rows != null) {
      long[] wo = attnToResidual.getShape().getShape();
      NDArray flat = attnToResidual.reshape(wo[0] * wo[1], wo[2]);
      NDArray out = probs.zerosLike();
      for (int t : rows) {
        NDArray p = flat.matMul(g.get(t)).reshape(wo[0], wo[1]); // (H, e)
        NDArray perKey = values.mul(p.expandDims(0)).sum(new int[] {2}); // (U, H)
        out.set(new NDIndex(t), probs.get(t).mul(perKey));
      }
      return out;
    }
    NDArray p = directionPerHeadChannel(attnToResidual, g).transpose(1, 0, 2); // (H, T, e)
    NDArray v = values.transpose(1, 2, 0); // (H, e, U)
    NDArray perHead = p.batchMatMul(v).transpose(1, 2, 0); // (T, U, H)
    return probs.mul(perHead);
  }

  /** {@code Σ_e Z[t,h,e]·WO[h,e,:]} norms per (t, h) → (T, H). */
  static NDArray headWriteNorms(NDArray weightedSumOfValues, NDArray attnToResidual) {
    return valueWriteNorms(weightedSumOfValues, attnToResidual);
  }

  /**
   * C8 LNvjp: the gradient w.r.t. the residual {@code r} (T, D) of {@code u·LN(r)} for a cotangent
   * {@code u} (T, D) on the layer-norm output with gain {@code gain} and the model's {@code
   * epsilon}; with {@code detachScale} the scale is treated as a constant.
   */
  static NDArray layerNormVjp(
      NDArray r, NDArray gain, float epsilon, NDArray u, boolean detachScale) {
    NDArray centered = r.sub(r.mean(new int[] {-1}, true));
    NDArray scale = TransformerMath.layerNormScale(centered, epsilon);
    NDArray v = u.mul(gain);
    NDArray out = v.sub(v.mean(new int[] {-1}, true));
    if (!detachScale) {
      NDArray projection = v.mul(centered).mean(new int[] {-1}, true);
      out = out.sub(centered.mul(projection).div(scale.square()));
    }
    return out.div(scale);
  }

  /**
   * C8 LNjvp: the change of {@code LN(r)} (T, D) for a change {@code w} (T, D) of the residual, for
   * a layer norm with gain {@code gain} and the model's {@code epsilon}; with {@code detachScale}
   * the scale is treated as a constant.
   */
  static NDArray layerNormJvp(
      NDArray r, NDArray gain, float epsilon, NDArray w, boolean detachScale) {
    NDArray centered = r.sub(r.mean(new int[] {-1}, true));
    NDArray scale = TransformerMath.layerNormScale(centered, epsilon);
    NDArray wc = w.sub(w.mean(new int[] {-1}, true));
    if (!detachScale) {
      NDArray projection = centered.mul(wc).mean(new int[] {-1}, true);
      wc = wc.sub(centered.mul(projection).div(scale.square()));
    }
    return wc.div(scale).mul(gain);
  }

  /** {@code x·W[h]} per head for x (T, D) and W (H, D, e) → (T, H, e). */
  static NDArray perHeadProjection(NDArray x, NDArray weight) {
    long[] w = weight.getShape().getShape();
    // (T, D) x (D, H·e) after moving heads next to the channels
    NDArray flat = weight.transpose(1, 0, 2).reshape(w[1], w[0] * w[2]);
    return x.matMul(flat).reshape(x.getShape().get(0), w[0], w[2]);
  }

  /**
   * Per head, {@code dLg (T, U) · other (U, e)} (or {@code dLgᵀ · other} with {@code transpose}) →
   * (T, H, e) (or (U, H, e)).
   */
  static NDArray headwiseProducts(NDArray dLogits, NDArray other, boolean transpose) {
    NDArray perHead = dLogits.transpose(2, 0, 1); // (H, T, U)
    if (transpose) {
      perHead = perHead.transpose(0, 2, 1); // (H, U, T)
    }
    return perHead.batchMatMul(other.transpose(1, 0, 2)).transpose(1, 0, 2);
  }

  /**
   * The transpose of {@link #perHeadProjection}: {@code Σ_h Σ_e d[t,h,e]·W[h,:,e]} for d (T, H, e)
   * and W (H, D, e) → (T, D).
   */
  static NDArray perHeadBackProjection(NDArray d, NDArray weight) {
    long[] w = weight.getShape().getShape();
    NDArray flat = weight.transpose(0, 2, 1).reshape(w[0] * w[2], w[1]);
    return d.reshape(d.getShape().get(0), w[0] * w[2]).matMul(flat);
  }

  /**
   * The softmax JVP for a change {@code dLogits} (T, U, H) of the attention logits (masked entries
   * must be 0): {@code dA = A ⊙ (dLg − Σ_u A ⊙ dLg)}. The softmax Jacobian is symmetric, so this is
   * also its VJP: the cotangent on the logits for a cotangent {@code dLogits} on the probabilities.
   */
  static NDArray softmaxJvp(NDArray probs, NDArray dLogits) {
    NDArray mean = probs.mul(dLogits).sum(new int[] {1}, true);
    return probs.mul(dLogits.sub(mean));
  }

  /** {@code Σ_e a[t,h,e]·b[u,h,e]} → (T, U, H), zero above the diagonal (causal mask). */
  static NDArray maskedPairProducts(NDArray a, NDArray b) {
    NDArray products = a.transpose(1, 0, 2).batchMatMul(b.transpose(1, 2, 0)).transpose(1, 2, 0);
    long t = products.getShape().get(0);
    long u = products.getShape().get(1);
    NDManager manager = products.getManager();
    NDArray rows = manager.arange(0f, (float) t).reshape(t, 1);
    NDArray columns = manager.arange(0f, (float) u).reshape(1, u);
    NDArray causal = columns.lte(rows).toType(products.getDataType(), false).expandDims(2);
    return products.mul(causal);
  }

  /** §5.3 {@code ||x[t,:]||} → (T, 1). */
  static NDArray residualNorm(NDArray x) {
    return x.norm(new int[] {1}, true);
  }
}
