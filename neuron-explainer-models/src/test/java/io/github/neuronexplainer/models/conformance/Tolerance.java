package io.github.neuronexplainer.models.conformance;

/** The packs' tolerance: |actual − expected| ≤ atol + rtol·|expected|; equal infinities match. */
public final class Tolerance {
  public static final double ATOL = 1e-5;
  public static final double RTOL = 1e-4;

  private Tolerance() {}

  /** The largest absolute error, or throws with the first mismatch's index and values. */
  public static double check(String what, float[] expected, float[] actual) {
    if (expected.length != actual.length) {
      throw new AssertionError(
          what + ": expected " + expected.length + " values, got " + actual.length);
    }
    double maxError = 0;
    for (int i = 0; i < expected.length; i++) {
      float e = expected[i];
      float a = actual[i];
      if (Float.isInfinite(e) || Float.isNaN(e)) {
        if (Float.compare(e, a) != 0) {
          throw new AssertionError(what + "[" + i + "]: expected " + e + ", got " + a);
        }
        continue;
      }
      double error = Math.abs((double) a - e);
      if (!(error <= ATOL + RTOL * Math.abs(e))) {
        throw new AssertionError(
            what + "[" + i + "]: expected " + e + ", got " + a + " (error " + error + ")");
      }
      maxError = Math.max(maxError, error);
    }
    return maxError;
  }
}
