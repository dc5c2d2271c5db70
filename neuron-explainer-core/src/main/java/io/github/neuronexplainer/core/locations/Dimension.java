package io.github.neuronexplainer.core.locations;

/**
 * Names of tensor dimensions (the original's {@code Dimension}); activation and weight shapes are
 * described as tuples of these. Dimensions tied to attention heads are per head.
 *
 * <p>Immutable and thread-safe.
 */
public enum Dimension {
  SEQUENCE_TOKENS("sequence_tokens"),
  ATTENDED_TO_SEQUENCE_TOKENS("attended_to_sequence_tokens"),
  MAX_CONTEXT_LENGTH("max_context_length"),
  /** The same as d_model. */
  RESIDUAL_STREAM_CHANNELS("residual_stream_channels"),
  VOCAB_SIZE("vocab_size"),
  ATTN_HEADS("attn_heads"),
  QUERY_AND_KEY_CHANNELS("query_and_key_channels"),
  VALUE_CHANNELS("value_channels"),
  MLP_ACTS("mlp_acts"),
  LAYERS("layers"),
  /** Always 1. */
  SINGLETON("singleton"),
  AUTOENCODER_LATENTS("autoencoder_latents"),
  AUTOENCODER_LATENTS_BY_TOKEN_PAIR("autoencoder_latents_by_token_pair");

  private final String value;

  Dimension(String value) {
    this.value = value;
  }

  /** The original's string value. */
  public String value() {
    return value;
  }

  public boolean isSequenceTokenDimension() {
    return this == SEQUENCE_TOKENS || this == ATTENDED_TO_SEQUENCE_TOKENS;
  }

  /** True for dimensions that parameterize activations (autoencoder latents). */
  public boolean isParameterizedDimension() {
    return this == AUTOENCODER_LATENTS;
  }

  /** True for dimensions that depend only on the model, not on the input or on added SAEs. */
  public boolean isModelIntrinsic() {
    return !(isParameterizedDimension() || isSequenceTokenDimension());
  }

  /** The node type whose index this dimension is, when it is the last dimension of a tensor. */
  public NodeType nodeType() {
    return switch (this) {
      case MLP_ACTS -> NodeType.MLP_NEURON;
      case ATTN_HEADS -> NodeType.ATTENTION_HEAD;
      case QUERY_AND_KEY_CHANNELS -> NodeType.QK_CHANNEL;
      case VALUE_CHANNELS -> NodeType.V_CHANNEL;
      case SINGLETON -> NodeType.LAYER;
      case RESIDUAL_STREAM_CHANNELS -> NodeType.RESIDUAL_STREAM_CHANNEL;
      case VOCAB_SIZE -> NodeType.VOCAB_TOKEN;
      case AUTOENCODER_LATENTS -> NodeType.AUTOENCODER_LATENT;
      case AUTOENCODER_LATENTS_BY_TOKEN_PAIR -> NodeType.AUTOENCODER_LATENT_BY_TOKEN_PAIR;
      default -> throw new UnsupportedOperationException("Unknown node type for dimension " + this);
    };
  }

  public static Dimension fromValue(String value) {
    return EnumValues.fromValue(Dimension.class, value, Dimension::value);
  }
}
