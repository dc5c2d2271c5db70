package io.github.neuronexplainer.conformance;

import ai.djl.ndarray.NDArray;
import java.util.ArrayList;
import java.util.List;

/**
 * The packs' tolerance, as the harness's check_golden.py: element-wise |actual − golden| ≤ atol +
 * rtol·|golden| (equal infinities and NaNs match), and, so that tensors whose values are all below
 * atol (e.g. ~1e-6 edge attributions) are still compared meaningfully, a max error within {@link
 * #TENSOR_RTOL} of the tensor's largest magnitude.
 */
public final class Tolerance {
  public static final double ATOL = 1e-5;
  public static final double RTOL = 1e-4;
  public static final double TENSOR_RTOL = 1e-3;

  private Tolerance() {}

  /** The tolerance around one golden value. */
  public static double around(double golden) {
    return ATOL + RTOL * Math.abs(golden);
  }

  /**
   * Compares two arrays; returns the max abs error and adds a line to {@code failures} if they
   * differ.
   */
  public static double compare(String name, NDArray actual, NDArray golden, List<String> failures) {
    if (!actual.getShape().equals(golden.getShape())) {
      failures.add(name + ": shape " + actual.getShape() + " != golden " + golden.getShape());
      return Double.NaN;
    }
    return compare(name, actual.toFloatArray(), golden.toFloatArray(), failures);
  }

  /** As {@link #compare(String, NDArray, NDArray, List)} for flat values. */
  public static double compare(String name, float[] actual, float[] golden, List<String> failures) {
    if (actual.length != golden.length) {
      failures.add(name + ": " + actual.length + " values, golden has " + golden.length);
      return Double.NaN;
    }
    double maxError = 0;
    double maxGolden = 0;
    int bad = 0;
    int firstBad = -1;
    for (int i = 0; i < actual.length; i++) {
      float want = golden[i];
      if (!Float.isFinite(want)) {
        if (Float.compare(actual[i], want) != 0) {
          bad++;
          firstBad = firstBad < 0 ? i : firstBad;
        }
        continue;
      }
      maxGolden = Math.max(maxGolden, Math.abs(want));
      double error = Math.abs((double) actual[i] - want);
      maxError = Math.max(maxError, error);
      if (!(error <= around(want))) {
        bad++;
        firstBad = firstBad < 0 ? i : firstBad;
      }
    }
    if (bad > 0) {
      failures.add(
          name
              + ": "
              + bad
              + " of "
              + actual.length
              + " elements differ; first at "
              + firstBad
              + ": "
              + actual[firstBad]
              + " vs golden "
              + golden[firstBad]
              + " (max abs error "
              + maxError
              + ")");
    } else if (maxError > TENSOR_RTOL * maxGolden + 1e-9) {
      failures.add(
          name
              + ": max abs error "
              + maxError
              + " exceeds "
              + TENSOR_RTOL
              + " of the tensor's max |value| "
              + maxGolden);
    }
    return maxError;
  }

  /** The max abs error, or throws {@link AssertionError} naming the first mismatch. */
  public static double check(String name, float[] actual, float[] golden) {
    List<String> failures = new ArrayList<>();
    double maxError = compare(name, actual, golden, failures);
    if (!failures.isEmpty()) {
      throw new AssertionError(failures.get(0));
    }
    return maxError;
  }
}
