package io.github.neuronexplainer.core.locations;

import static io.github.neuronexplainer.core.locations.Dimension.ATTN_HEADS;
import static io.github.neuronexplainer.core.locations.Dimension.MAX_CONTEXT_LENGTH;
import static io.github.neuronexplainer.core.locations.Dimension.MLP_ACTS;
import static io.github.neuronexplainer.core.locations.Dimension.QUERY_AND_KEY_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.RESIDUAL_STREAM_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.VALUE_CHANNELS;
import static io.github.neuronexplainer.core.locations.Dimension.VOCAB_SIZE;

import java.util.List;

/**
 * Named weight tensors with their standard shapes (the original's {@code WeightLocationType}):
 * privileged basis first (heads), then input, then output. The {@code *_BIAS} constants (not in the
 * original, which reads biases from the model directly) name the bias added after the weight of the
 * same name, and the layer norms' biases sit next to their gains, so every parameter a derived
 * scalar needs is read the same way, through {@code ModelContext.getWeight}.
 *
 * <p>Immutable and thread-safe.
 */
public enum WeightLocationType {
  MLP_TO_HIDDEN("mlp.to_hidden", RESIDUAL_STREAM_CHANNELS, MLP_ACTS),
  MLP_TO_RESIDUAL("mlp.to_residual", MLP_ACTS, RESIDUAL_STREAM_CHANNELS),
  EMBEDDING("embedding", VOCAB_SIZE, RESIDUAL_STREAM_CHANNELS),
  UNEMBEDDING("unembedding", RESIDUAL_STREAM_CHANNELS, VOCAB_SIZE),
  POSITION_EMBEDDING("position_embedding", MAX_CONTEXT_LENGTH, RESIDUAL_STREAM_CHANNELS),
  ATTN_TO_QUERY("attn.to_query", ATTN_HEADS, RESIDUAL_STREAM_CHANNELS, QUERY_AND_KEY_CHANNELS),
  ATTN_TO_KEY("attn.to_key", ATTN_HEADS, RESIDUAL_STREAM_CHANNELS, QUERY_AND_KEY_CHANNELS),
  ATTN_TO_VALUE("attn.to_value", ATTN_HEADS, RESIDUAL_STREAM_CHANNELS, VALUE_CHANNELS),
  ATTN_TO_RESIDUAL("attn.to_residual", ATTN_HEADS, VALUE_CHANNELS, RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_GAIN_FINAL("layer_norm_gain.final", RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_BIAS_FINAL("layer_norm_bias.final", RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_GAIN_PRE_ATTN("layer_norm_gain.pre_attn", RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_GAIN_PRE_MLP("layer_norm_gain.pre_mlp", RESIDUAL_STREAM_CHANNELS),
  MLP_TO_HIDDEN_BIAS("mlp.to_hidden.bias", MLP_ACTS),
  MLP_TO_RESIDUAL_BIAS("mlp.to_residual.bias", RESIDUAL_STREAM_CHANNELS),
  ATTN_TO_QUERY_BIAS("attn.to_query.bias", ATTN_HEADS, QUERY_AND_KEY_CHANNELS),
  ATTN_TO_KEY_BIAS("attn.to_key.bias", ATTN_HEADS, QUERY_AND_KEY_CHANNELS),
  ATTN_TO_VALUE_BIAS("attn.to_value.bias", ATTN_HEADS, VALUE_CHANNELS),
  ATTN_TO_RESIDUAL_BIAS("attn.to_residual.bias", RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_BIAS_PRE_ATTN("layer_norm_bias.pre_attn", RESIDUAL_STREAM_CHANNELS),
  LAYER_NORM_BIAS_PRE_MLP("layer_norm_bias.pre_mlp", RESIDUAL_STREAM_CHANNELS);

  private final String value;
  private final List<Dimension> shapeSpec;

  WeightLocationType(String value, Dimension... shapeSpec) {
    this.value = value;
    this.shapeSpec = List.of(shapeSpec);
  }

  public String value() {
    return value;
  }

  public List<Dimension> shapeSpec() {
    return shapeSpec;
  }

  public boolean isMlpSpecific() {
    return this == MLP_TO_HIDDEN
        || this == MLP_TO_RESIDUAL
        || this == LAYER_NORM_GAIN_PRE_MLP
        || this == MLP_TO_HIDDEN_BIAS
        || this == MLP_TO_RESIDUAL_BIAS
        || this == LAYER_NORM_BIAS_PRE_MLP;
  }

  /** One tensor per model (embeddings, final layer norm) rather than one per layer. */
  public boolean hasNoLayers() {
    return this == EMBEDDING
        || this == UNEMBEDDING
        || this == POSITION_EMBEDDING
        || this == LAYER_NORM_GAIN_FINAL
        || this == LAYER_NORM_BIAS_FINAL;
  }

  public boolean isAbsolutePositionEmbeddingSpecific() {
    return this == POSITION_EMBEDDING;
  }

  /**
   * Index of {@code dimension} in this weight's shape.
   *
   * @throws IllegalArgumentException if the dimension occurs zero or several times
   */
  public int dimensionIndex(Dimension dimension) {
    int index = shapeSpec.indexOf(dimension);
    if (index < 0 || shapeSpec.lastIndexOf(dimension) != index) {
      throw new IllegalArgumentException(
          "Weight "
              + this
              + " must contain dimension "
              + dimension
              + " exactly once: "
              + shapeSpec);
    }
    return index;
  }

  public static WeightLocationType fromValue(String value) {
    return EnumValues.fromValue(WeightLocationType.class, value, WeightLocationType::value);
  }
}
