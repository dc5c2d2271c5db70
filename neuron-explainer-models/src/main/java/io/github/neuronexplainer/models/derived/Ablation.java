package io.github.neuronexplainer.models.derived;

import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import java.util.Objects;

/**
 * The original's {@code AblationSpec}: during the pass, set the activation (forward pass) or the
 * gradient (backward pass) at {@code index} to {@code value}. Null tensor indices are the
 * original's "All" (every token, every neuron, ...). Activations of autoencoder latents ({@code
 * ONLINE_*_LATENT}) are ablated inside the spliced autoencoder, whose error term keeps the rest of
 * the activation unchanged.
 *
 * <p>Immutable and thread-safe.
 */
public record Ablation(ActivationIndex index, float value) {
  public Ablation {
    Objects.requireNonNull(index, "index");
    if (index.tensorIndices().size() != index.activationLocationType().ndimPerTokenSequence()) {
      throw new IllegalArgumentException(
          "An ablation of "
              + index.activationLocationType()
              + " needs one tensor index per dimension "
              + index.activationLocationType().shapeSpecPerTokenSequence()
              + " (null for all), got "
              + index.tensorIndices());
    }
  }

  /**
   * The original's {@code NodeAblation}: the node's activation at the location ablatable for its
   * type (MLP neuron: MLP_POST_ACT; attention head: ATTN_QK_PROBS; residual channel:
   * RESID_POST_MLP; autoencoder latent: the latent location of its kind), forward pass.
   */
  public static Ablation ofNode(NodeIndex node, float value) {
    return new Ablation(
        new ActivationIndex(
            ablatableLocation(node.nodeType()),
            node.tensorIndices(),
            node.layerIndex(),
            node.passType()),
        value);
  }

  /**
   * The original's {@code ablatable_activation_location_type_by_node_type}, plus the latent kinds.
   */
  public static ActivationLocationType ablatableLocation(NodeType nodeType) {
    return switch (nodeType) {
      case MLP_NEURON -> ActivationLocationType.MLP_POST_ACT;
      case ATTENTION_HEAD -> ActivationLocationType.ATTN_QK_PROBS;
      case RESIDUAL_STREAM_CHANNEL -> ActivationLocationType.RESID_POST_MLP;
      case AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_AUTOENCODER_LATENT;
      case MLP_AUTOENCODER_LATENT -> ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
      case ATTENTION_AUTOENCODER_LATENT ->
          ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
      default ->
          throw new IllegalArgumentException(
              "Nodes of type "
                  + nodeType
                  + " cannot be ablated; ablate an MLP neuron, attention head,"
                  + " residual stream channel or autoencoder latent");
    };
  }
}
