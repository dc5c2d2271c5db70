package io.github.neuronexplainer.explanations.scoring;

import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;

/**
 * Ordinary least squares of true on uncalibrated activations (sklearn {@code LinearRegression});
 * with constant predictions the slope is 0 and the intercept the true mean (lstsq's minimum-norm
 * solution). Leaves the correlation score unchanged. See {@link CalibratedNeuronSimulator} for
 * thread-safety.
 */
public final class LinearCalibratedNeuronSimulator extends CalibratedNeuronSimulator {
  private volatile double[] coefficients;

  public LinearCalibratedNeuronSimulator(NeuronSimulator uncalibrated) {
    super(uncalibrated);
  }

  @Override
  protected void fit(double[] y, double[] x) {
    if (x.length != y.length || x.length == 0) {
      throw new IllegalArgumentException(
          "Calibration needs equally many (>0) true and simulated values, got "
              + y.length
              + " and "
              + x.length);
    }
    double mx = Scoring.mean(x);
    double my = Scoring.mean(y);
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < x.length; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
    }
    double slope = sxx == 0 ? 0.0 : sxy / sxx;
    coefficients = new double[] {slope, my - slope * mx};
  }

  /** The fitted slope. */
  public double coefficient() {
    return fitted()[0];
  }

  /** The fitted intercept. */
  public double intercept() {
    return fitted()[1];
  }

  private double[] fitted() {
    double[] c = coefficients;
    if (c == null) {
      throw new IllegalStateException("Must call calibrate() before apply_calibration");
    }
    return c;
  }

  @Override
  protected double calibrateValue(double value) {
    double[] c = fitted();
    return c[0] * value + c[1];
  }
}
