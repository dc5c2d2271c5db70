package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.NodeIndex;

/**
 * A TDB ablation of a node (the original's {@code NodeAblation}): an MLP neuron, attention head
 * (its whole attention row at the node's query token) or autoencoder latent set to {@code value} in
 * the forward pass.
 *
 * <p>Immutable and thread-safe.
 */
public record NodeAblation(NodeIndex nodeIndex, double value) {
  public NodeAblation {
    Immutable.required(nodeIndex, "nodeIndex", "NodeAblation");
  }
}
