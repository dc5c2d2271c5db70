package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.List;

/**
 * One activation (or a slice) of a hooked location: location, tensor indices (null = the original's
 * "All"), layer and pass type. Immutable and thread-safe; value equality.
 */
public record ActivationIndex(
    ActivationLocationType activationLocationType,
    List<Integer> tensorIndices,
    int layerIndex,
    PassType passType) {

  public ActivationIndex {
    tensorIndices = IndexChecks.copyWithNulls(tensorIndices);
    if (tensorIndices.size() > activationLocationType.ndimPerTokenSequence()) {
      throw new IllegalArgumentException(
          "Too many tensor indices " + tensorIndices + " for " + activationLocationType);
    }
  }

  /**
   * The activation of {@code nodeIndex} at {@code location}.
   *
   * @throws IllegalArgumentException if the node type does not match the location's
   */
  public static ActivationIndex fromNodeIndex(
      NodeIndex nodeIndex, ActivationLocationType location) {
    if (nodeIndex.nodeType() != location.nodeType()) {
      throw new IllegalArgumentException(
          "Node type " + nodeIndex.nodeType() + " does not match " + location);
    }
    return new ActivationIndex(
        location, nodeIndex.tensorIndices(), nodeIndex.layerIndex(), nodeIndex.passType());
  }

  /** Free dimensions: the location's rank minus the integer indices. */
  public int ndim() {
    return activationLocationType.ndimPerTokenSequence() - IndexChecks.countNonNull(tensorIndices);
  }

  /** The JSON form; null indices are written as "All" as in the original. */
  public Mirrored toMirrored() {
    List<Object> indices = new ArrayList<>();
    for (Integer i : tensorIndices) {
      indices.add(i == null ? "All" : i);
    }
    return new Mirrored(
        activationLocationType.value(),
        indices,
        layerIndex == LayerIndex.NONE ? null : layerIndex,
        passType.value());
  }

  /** The original's {@code MirroredActivationIndex}. Tensor indices are ints or "All". */
  public record Mirrored(
      String activationLocationType,
      List<Object> tensorIndices,
      Integer layerIndex,
      String passType) {
    public ActivationIndex toActivationIndex() {
      List<Integer> indices = new ArrayList<>();
      for (Object o : tensorIndices) {
        if (o == null || "All".equals(o)) {
          indices.add(null);
        } else if (o instanceof Number n) {
          indices.add(n.intValue());
        } else {
          throw new IllegalArgumentException(
              "Tensor index must be an int or \"All\", got '" + o + "'");
        }
      }
      return new ActivationIndex(
          ActivationLocationType.fromValue(activationLocationType),
          indices,
          layerIndex == null ? LayerIndex.NONE : layerIndex,
          PassType.fromValue(passType));
    }
  }
}
