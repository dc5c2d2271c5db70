package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;
import java.util.Objects;

/**
 * A node (or a slice of nodes) of the model independent of the DST that measures it: node type,
 * tensor indices (e.g. (token, neuron) for MLP neurons, (query token, key token, head) for
 * attention heads; null = all), layer and pass type. The original's {@code NodeIndex}.
 *
 * <p>Immutable and thread-safe. Like the original's dataclasses, a NodeIndex never equals an {@link
 * AttnSubNodeIndex}, even with equal fields.
 */
public class NodeIndex {
  private final NodeType nodeType;
  private final List<Integer> tensorIndices;
  private final int layerIndex;
  private final PassType passType;

  public NodeIndex(
      NodeType nodeType, List<Integer> tensorIndices, int layerIndex, PassType passType) {
    this.nodeType = Objects.requireNonNull(nodeType, "nodeType");
    this.tensorIndices = IndexChecks.copyWithNulls(tensorIndices);
    this.layerIndex = layerIndex;
    this.passType = Objects.requireNonNull(passType, "passType");
  }

  public NodeType nodeType() {
    return nodeType;
  }

  public List<Integer> tensorIndices() {
    return tensorIndices;
  }

  public int layerIndex() {
    return layerIndex;
  }

  public PassType passType() {
    return passType;
  }

  /** The node of a derived scalar index (node type = the DST's node type). */
  public static NodeIndex fromDsIndex(DerivedScalarIndex index) {
    return new NodeIndex(
        index.dst().nodeType(), index.tensorIndices(), index.layerIndex(), index.passType());
  }

  /** The node of an activation index ("All" becomes null). */
  public static NodeIndex fromActivationIndex(ActivationIndex index) {
    return new NodeIndex(
        index.activationLocationType().nodeType(),
        index.tensorIndices(),
        index.layerIndex(),
        index.passType());
  }

  /**
   * Number of free dimensions left by this index, using the node type's reference activation.
   *
   * @throws UnsupportedOperationException for node types without a reference activation
   */
  public int ndim() {
    ActivationLocationType reference =
        switch (nodeType) {
          case ATTENTION_HEAD -> ActivationLocationType.ATTN_QK_PROBS;
          case MLP_NEURON -> ActivationLocationType.MLP_POST_ACT;
          case AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_AUTOENCODER_LATENT;
          case MLP_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
          case ATTENTION_AUTOENCODER_LATENT ->
              ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
          case RESIDUAL_STREAM_CHANNEL -> ActivationLocationType.RESID_POST_MLP;
          default ->
              throw new UnsupportedOperationException(
                  "ndim is not defined for node type " + nodeType);
        };
    return reference.ndimPerTokenSequence() - IndexChecks.countNonNull(tensorIndices);
  }

  /**
   * This attention-head node as a sub-node (query, key or value part).
   *
   * @throws IllegalArgumentException if this is not an attention head
   */
  public AttnSubNodeIndex toSubnodeIndex(ActivationLocationType qkOrV) {
    return new AttnSubNodeIndex(nodeType, tensorIndices, layerIndex, passType, qkOrV);
  }

  /** The JSON form; an {@link AttnSubNodeIndex}'s q/k/v part is dropped, as in the original. */
  public Mirrored toMirrored() {
    return new Mirrored(
        nodeType.value(),
        tensorIndices,
        layerIndex == LayerIndex.NONE ? null : layerIndex,
        passType.value());
  }

  /** The original's {@code MirroredNodeIndex} (camelCase JSON; layer null = none). */
  public record Mirrored(
      String nodeType, List<Integer> tensorIndices, Integer layerIndex, String passType) {
    public NodeIndex toNodeIndex() {
      return new NodeIndex(
          NodeType.fromValue(nodeType),
          tensorIndices,
          layerIndex == null ? LayerIndex.NONE : layerIndex,
          PassType.fromValue(passType));
    }
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (o == null || o.getClass() != getClass()) {
      return false;
    }
    NodeIndex other = (NodeIndex) o;
    return nodeType == other.nodeType
        && layerIndex == other.layerIndex
        && passType == other.passType
        && tensorIndices.equals(other.tensorIndices);
  }

  @Override
  public int hashCode() {
    return Objects.hash(getClass(), nodeType, tensorIndices, layerIndex, passType);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName()
        + "["
        + nodeType.value()
        + ", "
        + tensorIndices
        + ", layer "
        + LayerIndex.format(layerIndex)
        + ", "
        + passType.value()
        + "]";
  }
}
