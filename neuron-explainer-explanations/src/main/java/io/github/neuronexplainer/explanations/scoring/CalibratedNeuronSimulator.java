package io.github.neuronexplainer.explanations.scoring;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Wraps a simulator and maps its normalised predictions onto the neuron's activation scale, fitted
 * on calibration records. Calibrate before simulating; after calibration instances are safe to
 * share between threads (calibration itself is not meant to run concurrently with simulation).
 */
public abstract class CalibratedNeuronSimulator implements NeuronSimulator {
  protected final NeuronSimulator uncalibrated;

  protected CalibratedNeuronSimulator(NeuronSimulator uncalibrated) {
    this.uncalibrated = Objects.requireNonNull(uncalibrated, "uncalibrated");
  }

  /** Simulates every calibration record and fits the calibration. */
  public CompletableFuture<Void> calibrate(List<ActivationRecord> records) {
    List<CompletableFuture<SequenceSimulation>> sims = new ArrayList<>();
    for (ActivationRecord r : records) {
      sims.add(uncalibrated.simulate(r.tokens()));
    }
    return CompletableFuture.allOf(sims.toArray(CompletableFuture[]::new))
        .thenAccept(
            ignored ->
                calibrateFromSimulations(
                    records, sims.stream().map(CompletableFuture::join).toList()));
  }

  /** Fits on true activations and uncalibrated expected values, concatenated in record order. */
  public void calibrateFromSimulations(
      List<ActivationRecord> records, List<SequenceSimulation> simulations) {
    List<Double> trueValues = new ArrayList<>();
    List<Double> predicted = new ArrayList<>();
    records.forEach(r -> r.activations().forEach(n -> trueValues.add(n.doubleValue())));
    simulations.forEach(s -> s.expectedActivations().forEach(n -> predicted.add(n.doubleValue())));
    fit(
        trueValues.stream().mapToDouble(Double::doubleValue).toArray(),
        predicted.stream().mapToDouble(Double::doubleValue).toArray());
  }

  /** Fits the calibration from flattened true and uncalibrated values. */
  protected abstract void fit(double[] trueActivations, double[] uncalibratedActivations);

  /** Calibrates one value. */
  protected abstract double calibrateValue(double value);

  /** Calibrates values. */
  public List<Number> applyCalibration(List<? extends Number> values) {
    List<Number> out = new ArrayList<>();
    for (Number v : values) {
      out.add(calibrateValue(v.doubleValue()));
    }
    return out;
  }

  @Override
  public CompletableFuture<SequenceSimulation> simulate(List<String> tokens) {
    return uncalibrated
        .simulate(tokens)
        .thenApply(
            u -> {
              List<List<Double>> values = new ArrayList<>();
              for (List<Double> dv : u.distributionValues()) {
                values.add(applyCalibration(dv).stream().map(Number::doubleValue).toList());
              }
              return new SequenceSimulation(
                  u.tokens(),
                  applyCalibration(u.expectedActivations()),
                  ActivationScale.NEURON_ACTIVATIONS,
                  values,
                  u.distributionProbabilities(),
                  u);
            });
  }
}
