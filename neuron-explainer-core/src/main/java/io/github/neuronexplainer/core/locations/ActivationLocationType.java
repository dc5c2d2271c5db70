package io.github.neuronexplainer.core.locations;

import static io.github.neuronexplainer.core.locations.Dimension.ATTENDED_TO_SEQUENCE_TOKENS;
import static io.github.neuronexplainer.core.locations.Dimension.ATTN_HEADS;
import static io.github.neuronexplainer.core.locations.Dimension.AUTOENCODER_LATENTS;
import static io.github.neuronexplainer.core.locations.Dimension.MLP_ACTS;
import static io.github.neuronexplainer.core.locations.Dimension.QUERY_AND_KEY_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.RESIDUAL_STREAM_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.SEQUENCE_TOKENS;
import static io.github.neuronexplainer.core.locations.Dimension.SINGLETON;
import static io.github.neuronexplainer.core.locations.Dimension.VALUE_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.VOCAB_SIZE;

import java.util.List;
import java.util.Optional;

/**
 * Activations produced during a forward pass (the original's {@code ActivationLocationType}), with
 * their shape per token sequence (batch dimension excluded). All are before layer norm unless the
 * name says otherwise. The {@code ONLINE_*} locations exist only when autoencoders are spliced in.
 *
 * <p>Immutable and thread-safe.
 */
public enum ActivationLocationType {
  RESID_POST_EMBEDDING("resid.post_emb", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_DELTA_ATTN("resid.delta_attn", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_ATTN("resid.post_attn", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_DELTA_MLP("resid.delta_mlp", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_MLP("resid.post_mlp", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_MLP_LAYER_NORM("resid.post_mlp_ln", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_ATTN_LAYER_NORM("resid.post_attn_ln", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_FINAL_LAYER_NORM("resid.post_ln_f", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  MLP_INPUT_LAYER_NORM_SCALE("mlp_ln.scale", SEQUENCE_TOKENS, SINGLETON),
  ATTN_INPUT_LAYER_NORM_SCALE("attn_ln.scale", SEQUENCE_TOKENS, SINGLETON),
  RESID_FINAL_LAYER_NORM_SCALE("resid.ln_f.scale", SEQUENCE_TOKENS, SINGLETON),
  ATTN_QUERY("attn.q", SEQUENCE_TOKENS, ATTN_HEADS, QUERY_AND_KEY_CHANNELS),
  ATTN_KEY("attn.k", ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS, QUERY_AND_KEY_CHANNELS),
  ATTN_VALUE("attn.v", ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS, VALUE_CHANNELS),
  ATTN_QK_LOGITS("attn.qk_logits", SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_QK_PROBS("attn.qk_probs", SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_WEIGHTED_SUM_OF_VALUES("attn.v_out", SEQUENCE_TOKENS, ATTN_HEADS, VALUE_CHANNELS),
  MLP_PRE_ACT("mlp.pre_act", SEQUENCE_TOKENS, MLP_ACTS),
  MLP_POST_ACT("mlp.post_act", SEQUENCE_TOKENS, MLP_ACTS),
  LOGITS("logits", SEQUENCE_TOKENS, VOCAB_SIZE),
  ONLINE_AUTOENCODER_LATENT("online_autoencoder_latent", SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_LATENT(
      "online_mlp_autoencoder_latent", SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_LATENT(
      "online_attention_autoencoder_latent", SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_ERROR("online_mlp_autoencoder_error", SEQUENCE_TOKENS, MLP_ACTS),
  ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR(
      "online_residual_mlp_autoencoder_error", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR(
      "online_residual_attention_autoencoder_error", SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS);

  private final String value;
  private final List<Dimension> shapeSpec;

  ActivationLocationType(String value, Dimension... shapeSpec) {
    this.value = value;
    this.shapeSpec = List.of(shapeSpec);
  }

  /** The original's string value, e.g. {@code "mlp.post_act"}. */
  public String value() {
    return value;
  }

  /** Dimensions of one token sequence's tensor (no batch dimension). */
  public List<Dimension> shapeSpecPerTokenSequence() {
    return shapeSpec;
  }

  public int ndimPerTokenSequence() {
    return shapeSpec.size();
  }

  /** One tensor per model (embedding, final layer norm, logits) rather than one per layer. */
  public boolean hasNoLayers() {
    return this == RESID_POST_EMBEDDING
        || this == RESID_FINAL_LAYER_NORM_SCALE
        || this == RESID_POST_FINAL_LAYER_NORM
        || this == LOGITS;
  }

  /**
   * The activations of autoencoders spliced into the forward pass (latents and errors, the {@code
   * ONLINE_*} locations): they exist only when an autoencoder context provides them.
   */
  public boolean isOnline() {
    return switch (this) {
      case ONLINE_AUTOENCODER_LATENT,
          ONLINE_MLP_AUTOENCODER_LATENT,
          ONLINE_ATTENTION_AUTOENCODER_LATENT,
          ONLINE_MLP_AUTOENCODER_ERROR,
          ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR,
          ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR ->
          true;
      default -> false;
    };
  }

  /** False for activations that only exist when hooks add them. */
  public boolean existsByDefault() {
    return this != ONLINE_AUTOENCODER_LATENT;
  }

  /**
   * The node type of the latents of an autoencoder that reads this activation (the original's
   * {@code _autoencoder_node_type_by_input_dst}): MLP_POST_ACT and RESID_DELTA_MLP give
   * MLP_AUTOENCODER_LATENT, RESID_DELTA_ATTN gives ATTENTION_AUTOENCODER_LATENT, any other input
   * the generic AUTOENCODER_LATENT.
   */
  public NodeType autoencoderLatentNodeType() {
    return switch (this) {
      case MLP_POST_ACT, RESID_DELTA_MLP -> NodeType.MLP_AUTOENCODER_LATENT;
      case RESID_DELTA_ATTN -> NodeType.ATTENTION_AUTOENCODER_LATENT;
      default -> NodeType.AUTOENCODER_LATENT;
    };
  }

  /**
   * Where the latents of an autoencoder that reads this activation live when it is spliced into the
   * pass.
   *
   * @throws IllegalArgumentException for activations autoencoders cannot be spliced in at
   */
  public ActivationLocationType onlineAutoencoderLatentLocation() {
    return switch (this) {
      case MLP_POST_ACT, RESID_DELTA_MLP -> ONLINE_MLP_AUTOENCODER_LATENT;
      case RESID_DELTA_ATTN -> ONLINE_ATTENTION_AUTOENCODER_LATENT;
      default -> throw notSpliceable();
    };
  }

  /**
   * Where the reconstruction error of an autoencoder that reads this activation lives when it is
   * spliced into the pass.
   *
   * @throws IllegalArgumentException for activations autoencoders cannot be spliced in at
   */
  public ActivationLocationType onlineAutoencoderErrorLocation() {
    return switch (this) {
      case MLP_POST_ACT -> ONLINE_MLP_AUTOENCODER_ERROR;
      case RESID_DELTA_MLP -> ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR;
      case RESID_DELTA_ATTN -> ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR;
      default -> throw notSpliceable();
    };
  }

  private IllegalArgumentException notSpliceable() {
    return new IllegalArgumentException(
        "Autoencoders can be spliced in only at MLP_POST_ACT, RESID_DELTA_MLP or RESID_DELTA_ATTN, not "
            + this);
  }

  /** The node type of the last dimension. */
  public NodeType nodeType() {
    return shapeSpec.get(shapeSpec.size() - 1).nodeType();
  }

  /** Location within the layer, refined by the location for residual stream activations. */
  public Optional<LocationWithinLayer> locationWithinLayer() {
    Optional<LocationWithinLayer> fromNode = nodeType().locationWithinLayer();
    if (fromNode.isPresent() || nodeType() != NodeType.RESIDUAL_STREAM_CHANNEL) {
      return fromNode;
    }
    return switch (this) {
      case RESID_DELTA_ATTN -> Optional.of(LocationWithinLayer.ATTN);
      case RESID_POST_ATTN -> Optional.of(LocationWithinLayer.RESID_POST_ATTN);
      case RESID_DELTA_MLP -> Optional.of(LocationWithinLayer.MLP);
      case RESID_POST_MLP -> Optional.of(LocationWithinLayer.RESID_POST_MLP);
      default -> Optional.empty();
    };
  }

  public static ActivationLocationType fromValue(String value) {
    return EnumValues.fromValue(ActivationLocationType.class, value, ActivationLocationType::value);
  }
}
