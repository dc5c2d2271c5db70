package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;

/**
 * Identifies a neuron, attention head or latent within a layer. Legacy JSON names {@code idx} and
 * {@code layer} are accepted on read. Immutable and thread-safe.
 *
 * @param neuronIndex index within the layer
 * @param layerIndex layer index
 */
public record NeuronId(int neuronIndex, int layerIndex) implements FastDataclass {
  @Override
  public String dataclassName() {
    return "NeuronId";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("neuron_index", (long) neuronIndex);
    m.put("layer_index", (long) layerIndex);
    return m;
  }
}
