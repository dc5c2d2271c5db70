package io.github.neuronexplainer.explanations.scoring;

import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import java.util.Arrays;

/**
 * Maps predictions through the empirical quantiles: {@code np.interp(x, sort(uncalibrated),
 * sort(true))}. See {@link CalibratedNeuronSimulator} for thread-safety.
 */
public final class PercentileMatchingCalibratedNeuronSimulator extends CalibratedNeuronSimulator {
  private volatile double[][] sorted;

  public PercentileMatchingCalibratedNeuronSimulator(NeuronSimulator uncalibrated) {
    super(uncalibrated);
  }

  @Override
  protected void fit(double[] trueActivations, double[] uncalibratedActivations) {
    if (trueActivations.length != uncalibratedActivations.length || trueActivations.length == 0) {
      throw new IllegalArgumentException(
          "Calibration needs equally many (>0) true and simulated values");
    }
    double[] xp = uncalibratedActivations.clone();
    double[] fp = trueActivations.clone();
    Arrays.sort(xp);
    Arrays.sort(fp);
    sorted = new double[][] {xp, fp};
  }

  /** The sorted uncalibrated values. */
  public double[] sortedUncalibrated() {
    return fitted()[0].clone();
  }

  /** The sorted true values. */
  public double[] sortedTrue() {
    return fitted()[1].clone();
  }

  private double[][] fitted() {
    double[][] s = sorted;
    if (s == null) {
      throw new IllegalStateException("Must call calibrate() before apply_calibration");
    }
    return s;
  }

  @Override
  protected double calibrateValue(double x) {
    double[][] s = fitted();
    return interp(x, s[0], s[1]);
  }

  /**
   * {@code np.interp} for one value: clamps outside the range; duplicate xp resolve to the last
   * one.
   */
  static double interp(double x, double[] xp, double[] fp) {
    int n = xp.length;
    if (Double.isNaN(x)) {
      return Double.NaN;
    }
    if (x < xp[0]) {
      return fp[0];
    }
    if (x >= xp[n - 1]) {
      return fp[n - 1];
    }
    int j = 0;
    for (int i = 0; i < n; i++) {
      if (xp[i] <= x) {
        j = i;
      }
    }
    if (x == xp[j]) {
      return fp[j];
    }
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    return slope * (x - xp[j]) + fp[j];
  }
}
