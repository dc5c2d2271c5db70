package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * All scored explanations of one neuron (one JSON line of an explanations file). Immutable and
 * thread-safe.
 *
 * @param neuronId the neuron
 * @param scoredExplanations its scored explanations
 */
public record NeuronSimulationResults(NeuronId neuronId, List<ScoredExplanation> scoredExplanations)
    implements FastDataclass {
  public NeuronSimulationResults {
    Objects.requireNonNull(neuronId, "neuronId");
    scoredExplanations = List.copyOf(scoredExplanations);
  }

  @Override
  public String dataclassName() {
    return "NeuronSimulationResults";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("neuron_id", neuronId);
    m.put("scored_explanations", scoredExplanations);
    return m;
  }
}
