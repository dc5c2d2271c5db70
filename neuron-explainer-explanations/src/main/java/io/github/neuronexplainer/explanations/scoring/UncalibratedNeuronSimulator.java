package io.github.neuronexplainer.explanations.scoring;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Identity calibration. Like upstream, {@link #simulate} still labels the result NEURON_ACTIVATIONS
 * and nests the original as {@code uncalibrated_simulation}. Thread-safe.
 */
public final class UncalibratedNeuronSimulator extends CalibratedNeuronSimulator {
  public UncalibratedNeuronSimulator(NeuronSimulator uncalibrated) {
    super(uncalibrated);
  }

  /** No-op: does not simulate. */
  @Override
  public CompletableFuture<Void> calibrate(List<ActivationRecord> records) {
    return CompletableFuture.completedFuture(null);
  }

  @Override
  protected void fit(double[] trueActivations, double[] uncalibratedActivations) {
    // identity: nothing to fit
  }

  @Override
  protected double calibrateValue(double value) {
    return value;
  }

  /** Returns the values unchanged (ints stay ints). */
  @Override
  public List<Number> applyCalibration(List<? extends Number> values) {
    return List.copyOf(values);
  }
}
