package io.github.neuronexplainer.core.locations;

import java.util.Optional;

/**
 * A model component with one scalar activation per token or token pair (an MLP neuron, an attention
 * head, an autoencoder latent...). Tensors of a node type have the node as their last dimension.
 */
public enum NodeType {
  ATTENTION_HEAD("attention_head"),
  QK_CHANNEL("qk_channel"),
  V_CHANNEL("v_channel"),
  MLP_NEURON("mlp_neuron"),
  AUTOENCODER_LATENT("autoencoder_latent"),
  MLP_AUTOENCODER_LATENT("mlp_autoencoder_latent"),
  ATTENTION_AUTOENCODER_LATENT("attention_autoencoder_latent"),
  AUTOENCODER_LATENT_BY_TOKEN_PAIR("autoencoder_latent_by_token_pair"),
  LAYER("layer"),
  RESIDUAL_STREAM_CHANNEL("residual_stream_channel"),
  VOCAB_TOKEN("vocab_token");

  private final String value;

  NodeType(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  /**
   * The location within a layer implied by the node type alone; empty where it is ambiguous (e.g.
   * residual stream channels, latents).
   *
   * @throws IllegalStateException for vocab tokens, which have no location within a layer
   */
  public Optional<LocationWithinLayer> locationWithinLayer() {
    return switch (this) {
      case MLP_NEURON -> Optional.of(LocationWithinLayer.MLP);
      case ATTENTION_HEAD, QK_CHANNEL, V_CHANNEL -> Optional.of(LocationWithinLayer.ATTN);
      case VOCAB_TOKEN ->
          throw new IllegalStateException("Vocab tokens don't have a location within layer");
      default -> Optional.empty();
    };
  }

  public boolean isAutoencoderLatent() {
    return this == AUTOENCODER_LATENT
        || this == MLP_AUTOENCODER_LATENT
        || this == ATTENTION_AUTOENCODER_LATENT
        || this == AUTOENCODER_LATENT_BY_TOKEN_PAIR;
  }

  public static NodeType fromValue(String value) {
    return EnumValues.fromValue(NodeType.class, value, NodeType::value);
  }
}
