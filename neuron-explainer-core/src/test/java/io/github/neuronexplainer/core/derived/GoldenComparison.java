package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import java.util.List;

/** Element-wise comparison with the goldens: atol 1e-5 + rtol 1e-4, as check_golden.py. */
public final class GoldenComparison {
  public static final double ATOL = 1e-5;
  public static final double RTOL = 1e-4;
  /** Max error relative to the tensor's largest magnitude. */
  public static final double TENSOR_RTOL = 1e-3;

  private GoldenComparison() {}

  /** Returns the max abs error; records a failure when outside atol + rtol·|want|. */
  public static double compare(String name, NDArray actual, NDArray want, List<String> failures) {
    if (!actual.getShape().equals(want.getShape())) {
      failures.add(name + ": shape " + actual.getShape() + " != golden " + want.getShape());
      return Double.NaN;
    }
    float[] a = actual.toFloatArray();
    float[] w = want.toFloatArray();
    double maxError = 0;
    int bad = 0;
    int firstBad = -1;
    for (int i = 0; i < a.length; i++) {
      if (Float.isInfinite(w[i]) || Float.isNaN(w[i])) {
        if (Float.compare(a[i], w[i]) != 0) {
          bad++;
          firstBad = firstBad < 0 ? i : firstBad;
        }
        continue;
      }
      double err = Math.abs((double) a[i] - w[i]);
      maxError = Math.max(maxError, err);
      if (!(err <= ATOL + RTOL * Math.abs(w[i]))) {
        bad++;
        firstBad = firstBad < 0 ? i : firstBad;
      }
    }
    double maxWant = 0;
    for (float v : w) {
      if (Float.isFinite(v)) {
        maxWant = Math.max(maxWant, Math.abs(v));
      }
    }
    // Tensor-relative check too, so that tensors whose values are all below atol (e.g. ~1e-6 edge
    // attributions) are still compared meaningfully.
    if (bad == 0 && maxError > TENSOR_RTOL * maxWant + 1e-9) {
      failures.add(
          name + ": max abs error " + maxError + " exceeds " + TENSOR_RTOL + " of the tensor's max |value| " + maxWant);
    }
    if (bad > 0) {
      failures.add(
          name + ": " + bad + " of " + a.length + " elements differ; first at " + firstBad
              + ": " + a[firstBad] + " vs golden " + w[firstBad] + " (max abs error " + maxError + ")");
    }
    return maxError;
  }
}
