package io.github.neuronexplainer.explanations.simulator;

import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Predicts 0.0 everywhere without calling an API (a baseline). Stateless and thread-safe. */
public final class ExplanationDummySimulator implements NeuronSimulator {
  @Override
  public CompletableFuture<SequenceSimulation> simulate(List<String> tokens) {
    List<Number> zeros = new ArrayList<>();
    List<List<Double>> empty = new ArrayList<>();
    for (int i = 0; i < tokens.size(); i++) {
      zeros.add(0.0);
      empty.add(List.of());
    }
    return CompletableFuture.completedFuture(
        new SequenceSimulation(
            tokens, zeros, ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS, empty, empty, null));
  }
}
