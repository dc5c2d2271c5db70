package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * How a scored-tokens spec scores vocabulary tokens for each node (the original's {@code
 * TokenScoringType}). Serialized as its value string. Immutable.
 */
public enum TokenScoringType {
  UPVOTED_OUTPUT_TOKENS("upvoted_output_tokens"),
  INPUT_TOKENS_THAT_UPVOTE_MLP("input_tokens_that_upvote_mlp"),
  INPUT_TOKENS_THAT_UPVOTE_ATTN_Q("input_tokens_that_upvote_attn_q"),
  INPUT_TOKENS_THAT_UPVOTE_ATTN_K("input_tokens_that_upvote_attn_k");

  private final String value;

  TokenScoringType(String value) {
    this.value = value;
  }

  /** The original's value string (the JSON form). */
  @JsonValue
  public String value() {
    return value;
  }

  /**
   * The constant with this value.
   *
   * @throws IllegalArgumentException naming the valid values
   */
  @JsonCreator
  public static TokenScoringType fromValue(String value) {
    return EnumValues.fromValue(TokenScoringType.class, value, TokenScoringType::value);
  }
}
