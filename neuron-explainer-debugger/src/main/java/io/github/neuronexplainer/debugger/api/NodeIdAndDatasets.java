package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import java.util.List;

/**
 * A node of a neuron-record dataset (the original's {@code NodeIdAndDatasets}): parsed and written,
 * but normalizing activations with a record is not supported by {@code InteractiveModel} (it needs
 * the datasets).
 *
 * <p>Immutable and thread-safe.
 */
public record NodeIdAndDatasets(
    DerivedScalarType dst, Integer layerIndex, Integer activationIndex, List<String> datasets) {
  public NodeIdAndDatasets {
    Immutable.required(dst, "dst", "NodeIdAndDatasets");
    Immutable.required(layerIndex, "layerIndex", "NodeIdAndDatasets");
    Immutable.required(activationIndex, "activationIndex", "NodeIdAndDatasets");
    datasets = List.copyOf(Immutable.required(datasets, "datasets", "NodeIdAndDatasets"));
  }
}
