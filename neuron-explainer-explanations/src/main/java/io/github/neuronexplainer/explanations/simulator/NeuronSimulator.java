package io.github.neuronexplainer.explanations.simulator;

import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.client.LlmClient;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Predicts a neuron's activations on a token sequence. Implementations are thread-safe. */
public interface NeuronSimulator {
  /** Simulates the sequence; the future fails (never yields zeros) when the API call fails. */
  CompletableFuture<SequenceSimulation> simulate(List<String> tokens);

  /** Blocking {@link #simulate}. */
  default SequenceSimulation simulateBlocking(List<String> tokens) {
    return LlmClient.await(simulate(tokens));
  }
}
