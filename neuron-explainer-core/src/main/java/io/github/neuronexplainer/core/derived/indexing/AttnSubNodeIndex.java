package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;
import java.util.Objects;

/**
 * An attention-head node restricted to its query, key or value part ({@code q_k_or_v} is
 * ATTN_QUERY, ATTN_KEY or ATTN_VALUE). Immutable and thread-safe.
 */
public final class AttnSubNodeIndex extends NodeIndex {
  private final ActivationLocationType qkOrV;

  public AttnSubNodeIndex(
      NodeType nodeType,
      List<Integer> tensorIndices,
      int layerIndex,
      PassType passType,
      ActivationLocationType qkOrV) {
    super(nodeType, tensorIndices, layerIndex, passType);
    if (nodeType != NodeType.ATTENTION_HEAD) {
      throw new IllegalArgumentException(
          "AttnSubNodeIndex needs node type ATTENTION_HEAD, got " + nodeType);
    }
    if (qkOrV != ActivationLocationType.ATTN_QUERY
        && qkOrV != ActivationLocationType.ATTN_KEY
        && qkOrV != ActivationLocationType.ATTN_VALUE) {
      throw new IllegalArgumentException(
          "q_k_or_v must be ATTN_QUERY, ATTN_KEY or ATTN_VALUE, got " + qkOrV);
    }
    this.qkOrV = qkOrV;
  }

  public ActivationLocationType qkOrV() {
    return qkOrV;
  }

  @Override
  public boolean equals(Object o) {
    return super.equals(o) && qkOrV == ((AttnSubNodeIndex) o).qkOrV;
  }

  @Override
  public int hashCode() {
    return Objects.hash(super.hashCode(), qkOrV);
  }

  @Override
  public String toString() {
    return super.toString() + "(" + qkOrV + ")";
  }
}
