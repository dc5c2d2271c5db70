package io.github.neuronexplainer.core.derived;

import static io.github.neuronexplainer.core.locations.Dimension.*;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.EnumValues;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The 106 derived scalar types (DSTs) of the original's {@code DerivedScalarType}, in the
 * original's order: per-token (or per-token-pair) scalars computed from raw activations and model
 * weights. The string value of every constant is its lower-cased name.
 *
 * <p>Immutable and thread-safe.
 */
public enum DerivedScalarType {
  LOGITS(raw(ActivationLocationType.LOGITS), SEQUENCE_TOKENS, VOCAB_SIZE),
  RESID_POST_EMBEDDING(
      raw(ActivationLocationType.RESID_POST_EMBEDDING), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  MLP_PRE_ACT(raw(ActivationLocationType.MLP_PRE_ACT), SEQUENCE_TOKENS, MLP_ACTS),
  MLP_POST_ACT(raw(ActivationLocationType.MLP_POST_ACT), SEQUENCE_TOKENS, MLP_ACTS),
  RESID_DELTA_MLP(
      raw(ActivationLocationType.RESID_DELTA_MLP), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_MLP(
      raw(ActivationLocationType.RESID_POST_MLP), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  ATTN_QUERY(
      raw(ActivationLocationType.ATTN_QUERY), SEQUENCE_TOKENS, ATTN_HEADS, QUERY_AND_KEY_CHANNELS),
  ATTN_KEY(
      raw(ActivationLocationType.ATTN_KEY),
      ATTENDED_TO_SEQUENCE_TOKENS,
      ATTN_HEADS,
      QUERY_AND_KEY_CHANNELS),
  ATTN_VALUE(
      raw(ActivationLocationType.ATTN_VALUE),
      ATTENDED_TO_SEQUENCE_TOKENS,
      ATTN_HEADS,
      VALUE_CHANNELS),
  ATTN_QK_LOGITS(
      raw(ActivationLocationType.ATTN_QK_LOGITS),
      SEQUENCE_TOKENS,
      ATTENDED_TO_SEQUENCE_TOKENS,
      ATTN_HEADS),
  ATTN_QK_PROBS(
      raw(ActivationLocationType.ATTN_QK_PROBS),
      SEQUENCE_TOKENS,
      ATTENDED_TO_SEQUENCE_TOKENS,
      ATTN_HEADS),
  ATTN_WEIGHTED_SUM_OF_VALUES(
      raw(ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES),
      SEQUENCE_TOKENS,
      ATTN_HEADS,
      VALUE_CHANNELS),
  RESID_DELTA_ATTN(
      raw(ActivationLocationType.RESID_DELTA_ATTN), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_POST_ATTN(
      raw(ActivationLocationType.RESID_POST_ATTN), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  RESID_FINAL_LAYER_NORM_SCALE(
      raw(ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE), SEQUENCE_TOKENS, SINGLETON),
  ATTN_INPUT_LAYER_NORM_SCALE(
      raw(ActivationLocationType.ATTN_INPUT_LAYER_NORM_SCALE), SEQUENCE_TOKENS, SINGLETON),
  MLP_INPUT_LAYER_NORM_SCALE(
      raw(ActivationLocationType.MLP_INPUT_LAYER_NORM_SCALE), SEQUENCE_TOKENS, SINGLETON),
  ONLINE_AUTOENCODER_LATENT(
      activation(ActivationLocationType.ONLINE_AUTOENCODER_LATENT)
          .online()
          .latentsOf(NodeType.AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ATTN_WRITE_NORM(derived().originalTokenPairs(), SEQUENCE_TOKENS, ATTN_HEADS),
  FLATTENED_ATTN_POST_SOFTMAX(derived().originalTokenPairs(), SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_ACT_TIMES_GRAD(derived().needsGradient().originalTokenPairs(), SEQUENCE_TOKENS, ATTN_HEADS),
  RESID_DELTA_MLP_FROM_MLP_POST_ACT(
      recomputes(ActivationLocationType.RESID_DELTA_MLP),
      SEQUENCE_TOKENS,
      RESIDUAL_STREAM_CHANNELS),
  MLP_WRITE_NORM(derived(), SEQUENCE_TOKENS, MLP_ACTS),
  MLP_ACT_TIMES_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, MLP_ACTS),
  AUTOENCODER_LATENT(
      derived().latentsOf(NodeType.AUTOENCODER_LATENT), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  AUTOENCODER_WRITE_NORM(
      derived().reads(NodeType.AUTOENCODER_LATENT), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  MLP_WRITE_TO_FINAL_RESIDUAL_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, MLP_ACTS),
  ATTN_WRITE_NORM_PER_SEQUENCE_TOKEN(derived(), SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD_PER_SEQUENCE_TOKEN(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN(derived().needsGradient(), SEQUENCE_TOKENS, ATTN_HEADS),
  RESID_POST_EMBEDDING_NORM(derived(), SEQUENCE_TOKENS, SINGLETON),
  RESID_POST_MLP_NORM(derived(), SEQUENCE_TOKENS, SINGLETON),
  MLP_LAYER_WRITE_NORM(derived(), SEQUENCE_TOKENS, SINGLETON),
  RESID_POST_ATTN_NORM(derived(), SEQUENCE_TOKENS, SINGLETON),
  ATTN_LAYER_WRITE_NORM(derived(), SEQUENCE_TOKENS, SINGLETON),
  RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD(
      derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  RESID_POST_MLP_PROJ_TO_FINAL_RESIDUAL_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  MLP_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  RESID_POST_ATTN_PROJ_TO_FINAL_RESIDUAL_GRAD(
      derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  ATTN_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  UNFLATTENED_ATTN_ACT_TIMES_GRAD(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  UNFLATTENED_ATTN_WRITE_NORM(derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived().needsGradient().tokenPairs(), SEQUENCE_TOKENS, ATTN_HEADS),
  ONLINE_AUTOENCODER_ACT_TIMES_GRAD(
      derived().online().reads(NodeType.AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_AUTOENCODER_WRITE_NORM(
      derived().online().reads(NodeType.AUTOENCODER_LATENT), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  ONLINE_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived().online().reads(NodeType.AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_ERROR(
      activation(ActivationLocationType.ONLINE_MLP_AUTOENCODER_ERROR)
          .online()
          .reads(NodeType.MLP_AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      MLP_ACTS),
  ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR(
      activation(ActivationLocationType.ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR)
          .online()
          .reads(NodeType.MLP_AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      RESIDUAL_STREAM_CHANNELS),
  ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR(
      activation(ActivationLocationType.ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR)
          .online()
          .reads(NodeType.ATTENTION_AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      RESIDUAL_STREAM_CHANNELS),
  ONLINE_MLP_AUTOENCODER_ERROR_ACT_TIMES_GRAD(
      derived().online().reads(NodeType.MLP_AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      MLP_ACTS),
  ONLINE_MLP_AUTOENCODER_ERROR_WRITE_NORM(
      derived().online().reads(NodeType.MLP_AUTOENCODER_LATENT), SEQUENCE_TOKENS, MLP_ACTS),
  ONLINE_MLP_AUTOENCODER_ERROR_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived().online().reads(NodeType.MLP_AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      MLP_ACTS),
  ATTN_WRITE(
      derived(),
      SEQUENCE_TOKENS,
      ATTENDED_TO_SEQUENCE_TOKENS,
      ATTN_HEADS,
      RESIDUAL_STREAM_CHANNELS),
  ATTN_WRITE_SUM_HEADS(
      derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  MLP_WRITE(derived(), SEQUENCE_TOKENS, MLP_ACTS, RESIDUAL_STREAM_CHANNELS),
  ONLINE_AUTOENCODER_WRITE(
      derived().online().reads(NodeType.AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS,
      RESIDUAL_STREAM_CHANNELS),
  ATTN_WEIGHTED_VALUE(
      derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS, VALUE_CHANNELS),
  PREVIOUS_LAYER_RESID_POST_MLP(derived(), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  MLP_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(derived(), SEQUENCE_TOKENS, MLP_ACTS),
  UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(
      derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(
      derived().online().reads(NodeType.AUTOENCODER_LATENT), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  RESID_POST_EMBEDDING_PROJ_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(
      derived(), SEQUENCE_TOKENS, SINGLETON),
  AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT(derived(), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  AUTOENCODER_LATENT_GRAD_WRT_MLP_POST_ACT_INPUT(derived(), SEQUENCE_TOKENS, MLP_ACTS),
  ATTN_WRITE_TO_LATENT(derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS(
      derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, SINGLETON),
  FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS(
      derived().tokenPairs(), SEQUENCE_TOKENS, SINGLETON),
  FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS_BATCHED(
      derived().tokenPairs(), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN(derived(), SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN_BATCHED(
      derived(), SEQUENCE_TOKENS, ATTN_HEADS, AUTOENCODER_LATENTS),
  TOKEN_ATTRIBUTION(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  SINGLE_NODE_WRITE(derived(), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION(
      derived().needsGradient(), SEQUENCE_TOKENS, RESIDUAL_STREAM_CHANNELS),
  ATTN_OUT_EDGE_ATTRIBUTION(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  MLP_OUT_EDGE_ATTRIBUTION(derived().needsGradient(), SEQUENCE_TOKENS, MLP_ACTS),
  ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION(
      derived().online().reads(NodeType.AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ATTN_QUERY_IN_EDGE_ATTRIBUTION(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_KEY_IN_EDGE_ATTRIBUTION(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_VALUE_IN_EDGE_ATTRIBUTION(
      derived().needsGradient(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  MLP_IN_EDGE_ATTRIBUTION(derived().needsGradient(), SEQUENCE_TOKENS, MLP_ACTS),
  ONLINE_AUTOENCODER_IN_EDGE_ATTRIBUTION(
      derived().online().reads(NodeType.AUTOENCODER_LATENT).needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  TOKEN_OUT_EDGE_ATTRIBUTION(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD(derived().needsGradient(), SEQUENCE_TOKENS, SINGLETON),
  VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION(derived(), SEQUENCE_TOKENS, VOCAB_SIZE),
  ALWAYS_ONE(derived(), SEQUENCE_TOKENS, SINGLETON),
  ATTN_QUERY_IN_EDGE_ACTIVATION(
      derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  ATTN_KEY_IN_EDGE_ACTIVATION(derived(), SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS, ATTN_HEADS),
  MLP_IN_EDGE_ACTIVATION(derived(), SEQUENCE_TOKENS, MLP_ACTS),
  ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION(
      derived().online().reads(NodeType.AUTOENCODER_LATENT), SEQUENCE_TOKENS, AUTOENCODER_LATENTS),
  MLP_AUTOENCODER_LATENT(
      derived().latentsOf(NodeType.MLP_AUTOENCODER_LATENT).variantOf(AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  MLP_AUTOENCODER_WRITE_NORM(
      derived().latentsOf(NodeType.MLP_AUTOENCODER_LATENT).variantOf(AUTOENCODER_WRITE_NORM),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_LATENT(
      activation(ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT)
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_WRITE(
      derived()
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS,
      RESIDUAL_STREAM_CHANNELS),
  ONLINE_MLP_AUTOENCODER_WRITE_NORM(
      derived()
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_NORM),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_ACT_TIMES_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_ACT_TIMES_GRAD)
          .needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD)
          .needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.MLP_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ATTENTION_AUTOENCODER_LATENT(
      derived().latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT).variantOf(AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ATTENTION_AUTOENCODER_WRITE_NORM(
      derived().latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT).variantOf(AUTOENCODER_WRITE_NORM),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_LATENT(
      activation(ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT)
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_LATENT),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_WRITE(
      derived()
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS,
      RESIDUAL_STREAM_CHANNELS),
  ONLINE_ATTENTION_AUTOENCODER_WRITE_NORM(
      derived()
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_NORM),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_ACT_TIMES_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_ACT_TIMES_GRAD)
          .needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD)
          .needsGradient(),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS),
  ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD(
      derived()
          .online()
          .latentsOf(NodeType.ATTENTION_AUTOENCODER_LATENT)
          .variantOf(ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD),
      SEQUENCE_TOKENS,
      AUTOENCODER_LATENTS);

  /**
   * What a DST is, declared once on its constant: the activation it passes through or equals, the
   * autoencoder kind it reads, whether it needs gradients, and whether its first dimension is
   * really token pairs. Built with {@link #raw}, {@link #activation}, {@link #recomputes} or {@link
   * #derived} and the chained modifiers.
   */
  private record Properties(
      ActivationLocationType activation,
      boolean raw,
      boolean sameNameAsActivation,
      boolean isOnline,
      NodeType autoencoderKind,
      boolean indexedByLatents,
      DerivedScalarType genericVariant,
      boolean requiresGradient,
      boolean indexedByTokenPairs,
      boolean isOriginalTokenPairs) {

    /** Reads raw data of the autoencoders spliced into the forward pass (the ONLINE_* DSTs). */
    Properties online() {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          true,
          autoencoderKind,
          indexedByLatents,
          genericVariant,
          requiresGradient,
          indexedByTokenPairs,
          isOriginalTokenPairs);
    }

    /** Is built on the latents of the autoencoder of {@code kind} (last dimension not latents). */
    Properties reads(NodeType kind) {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          kind,
          false,
          genericVariant,
          requiresGradient,
          indexedByTokenPairs,
          isOriginalTokenPairs);
    }

    /** Its last dimension indexes the latents of the autoencoder of {@code kind}. */
    Properties latentsOf(NodeType kind) {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          kind,
          true,
          genericVariant,
          requiresGradient,
          indexedByTokenPairs,
          isOriginalTokenPairs);
    }

    /** The per-autoencoder-kind variant of the generic DST {@code generic}. */
    Properties variantOf(DerivedScalarType generic) {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          autoencoderKind,
          indexedByLatents,
          generic,
          requiresGradient,
          indexedByTokenPairs,
          isOriginalTokenPairs);
    }

    /** Computing the forward value needs a backward pass (a loss or a trace). */
    Properties needsGradient() {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          autoencoderKind,
          indexedByLatents,
          genericVariant,
          true,
          indexedByTokenPairs,
          isOriginalTokenPairs);
    }

    /** The first dimension is the flattened lower triangle of token pairs (quirk Q8, fixed). */
    Properties tokenPairs() {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          autoencoderKind,
          indexedByLatents,
          genericVariant,
          requiresGradient,
          true,
          isOriginalTokenPairs);
    }

    /** As {@link #tokenPairs}, and the original's sequence_dim_is_sequence_token_pairs says so. */
    Properties originalTokenPairs() {
      return new Properties(
          activation,
          raw,
          sameNameAsActivation,
          isOnline,
          autoencoderKind,
          indexedByLatents,
          genericVariant,
          requiresGradient,
          true,
          true);
    }
  }

  /** A hookable activation of the standard model, passed through unchanged. */
  private static Properties raw(ActivationLocationType activation) {
    return new Properties(activation, true, true, false, null, false, null, false, false, false);
  }

  /** An activation that exists only with autoencoders (same name, not raw). */
  private static Properties activation(ActivationLocationType activation) {
    return new Properties(activation, false, true, false, null, false, null, false, false, false);
  }

  /** Recomputes {@code activation} from other activations (a different name, same location). */
  private static Properties recomputes(ActivationLocationType activation) {
    return new Properties(activation, false, false, false, null, false, null, false, false, false);
  }

  /** Computed from activations and weights. */
  private static Properties derived() {
    return new Properties(null, false, false, false, null, false, null, false, false, false);
  }

  private final Properties properties;
  private final List<Dimension> shapeSpec;

  DerivedScalarType(Properties properties, Dimension... shapeSpec) {
    this.properties = properties;
    this.shapeSpec = List.of(shapeSpec);
  }

  /** Generic autoencoder DST → its variant per autoencoder node type, from {@code variantOf}. */
  private static final Map<DerivedScalarType, Map<NodeType, DerivedScalarType>>
      AUTOENCODER_VARIANTS = new EnumMap<>(DerivedScalarType.class);

  static {
    for (DerivedScalarType dst : values()) {
      DerivedScalarType generic = dst.properties.genericVariant();
      if (generic != null) {
        AUTOENCODER_VARIANTS
            .computeIfAbsent(generic, g -> new EnumMap<>(NodeType.class))
            .put(dst.properties.autoencoderKind(), dst);
      }
    }
  }

  /** The original's string value: the lower-cased name. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Dimensions of one token sequence's tensor (the batch dimension is never included). */
  public List<Dimension> shapeSpecPerTokenSequence() {
    return shapeSpec;
  }

  public int ndimPerTokenSequence() {
    return shapeSpec.size();
  }

  /** The 17 DSTs that are hookable activations of the standard model, passed through unchanged. */
  public boolean isRawActivationType() {
    return properties.raw();
  }

  /**
   * The 18 DSTs whose last dimension indexes autoencoder latents of a specific autoencoder kind.
   */
  public boolean isAutoencoderLatent() {
    return properties.indexedByLatents();
  }

  /**
   * The node type of the autoencoder whose latents this DST is built on (AUTOENCODER_LATENT for the
   * generic DSTs, which use the single configured autoencoder), or empty for DSTs that read no
   * autoencoder.
   */
  public Optional<NodeType> autoencoderNodeType() {
    return Optional.ofNullable(properties.autoencoderKind());
  }

  /**
   * Whether the DST reads activations that exist only while autoencoders are spliced into the
   * forward pass (the {@code ONLINE_*} DSTs); offline autoencoder DSTs encode stored activations.
   */
  public boolean isOnline() {
    return properties.isOnline();
  }

  /** Whether computing the forward value needs a backward pass (a loss or a trace). */
  public boolean requiresGradForForwardPass() {
    return properties.requiresGradient();
  }

  /**
   * BACKWARD always needs gradients; FORWARD needs them when {@link #requiresGradForForwardPass}.
   */
  public boolean requiresGradForPassType(PassType passType) {
    return passType == PassType.BACKWARD || requiresGradForForwardPass();
  }

  /**
   * The original's {@code sequence_dim_is_sequence_token_pairs}: true only for ATTN_WRITE_NORM,
   * FLATTENED_ATTN_POST_SOFTMAX and ATTN_ACT_TIMES_GRAD (quirk Q8: it omits other flattened DSTs).
   */
  public boolean sequenceDimIsSequenceTokenPairs() {
    return properties.isOriginalTokenPairs();
  }

  /**
   * True for every DST whose first dimension is the flattened lower triangle of (query, key) token
   * pairs (row {@code p = t(t+1)/2 + u}), although its shape spec says SEQUENCE_TOKENS: the three
   * of {@link #sequenceDimIsSequenceTokenPairs} plus ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD and the two
   * FLATTENED_ATTN_WRITE_TO_LATENT_* DSTs (quirk Q8, fixed).
   */
  public boolean isIndexedByTokenPairs() {
    return properties.indexedByTokenPairs();
  }

  /**
   * The node type of the last dimension; autoencoder-latent DSTs get the latent node type of their
   * autoencoder kind. Quirk Q9 (faithful): ONLINE_AUTOENCODER_WRITE is not an autoencoder-latent
   * DST, so its node type is RESIDUAL_STREAM_CHANNEL.
   */
  public NodeType nodeType() {
    if (isAutoencoderLatent()) {
      return properties.autoencoderKind();
    }
    return shapeSpec.get(shapeSpec.size() - 1).nodeType();
  }

  /**
   * The location within a layer if the DST alone determines it (raw types: their activation's
   * location; others: their node type's). Empty means ambiguous; a deriver may know more.
   *
   * @throws IllegalStateException for vocab-token DSTs, which have no location
   */
  public Optional<LocationWithinLayer> locationWithinLayer() {
    if (isRawActivationType()) {
      return toActivationLocationType().locationWithinLayer();
    }
    return nodeType().locationWithinLayer();
  }

  /**
   * Whether the DST has one tensor per model rather than per layer. Defined for raw types only, as
   * in the original.
   *
   * @throws UnsupportedOperationException for non-raw DSTs
   */
  public boolean hasNoLayers() {
    if (!isRawActivationType()) {
      throw new UnsupportedOperationException(
          "hasNoLayers is only defined for raw activation DSTs, not " + this);
    }
    return toActivationLocationType().hasNoLayers();
  }

  /**
   * The DST for a generic autoencoder DST and an autoencoder node type (null or AUTOENCODER_LATENT
   * keeps the generic one), e.g. ONLINE_AUTOENCODER_LATENT + MLP_AUTOENCODER_LATENT →
   * ONLINE_MLP_AUTOENCODER_LATENT.
   *
   * @throws IllegalArgumentException if this DST has no per-kind variants or the node type is not
   *     an autoencoder latent type
   */
  public DerivedScalarType updateFromAutoencoderNodeType(NodeType nodeType) {
    NodeType kind = nodeType == null ? NodeType.AUTOENCODER_LATENT : nodeType;
    if (!kind.isAutoencoderLatent() || kind == NodeType.AUTOENCODER_LATENT_BY_TOKEN_PAIR) {
      throw new IllegalArgumentException(kind + " is not an autoencoder latent node type");
    }
    Map<NodeType, DerivedScalarType> variants = AUTOENCODER_VARIANTS.get(this);
    if (variants == null) {
      throw new IllegalArgumentException(this + " has no per-autoencoder-kind variants");
    }
    return kind == NodeType.AUTOENCODER_LATENT ? this : variants.get(kind);
  }

  /**
   * The DST with the same name as {@code location}.
   *
   * @throws IllegalArgumentException for locations without one (e.g. RESID_POST_MLP_LAYER_NORM)
   */
  public static DerivedScalarType fromActivationLocationType(ActivationLocationType location) {
    for (DerivedScalarType dst : values()) {
      if (dst.properties.sameNameAsActivation() && dst.properties.activation() == location) {
        return dst;
      }
    }
    throw new IllegalArgumentException(
        location + " does not have a corresponding DerivedScalarType");
  }

  /**
   * The activation location with the same name; RESID_DELTA_MLP_FROM_MLP_POST_ACT maps to
   * RESID_DELTA_MLP.
   *
   * @throws IllegalArgumentException for DSTs that are not activations
   */
  public ActivationLocationType toActivationLocationType() {
    if (properties.activation() != null) {
      return properties.activation();
    }
    throw new IllegalArgumentException(
        this + " does not have a corresponding ActivationLocationType");
  }

  public static DerivedScalarType fromValue(String value) {
    return EnumValues.fromValue(DerivedScalarType.class, value, DerivedScalarType::value);
  }
}
