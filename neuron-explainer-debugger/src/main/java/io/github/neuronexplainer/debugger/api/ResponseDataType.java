package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * The discriminator a response writes as {@code responseDataType}. Serialized as its value string.
 * Immutable.
 */
public enum ResponseDataType {
  DERIVED_SCALARS_RESPONSE_DATA("derived_scalars_response_data"),
  DERIVED_ATTENTION_SCALARS_RESPONSE_DATA("derived_attention_scalars_response_data"),
  MULTIPLE_TOP_K_DERIVED_SCALARS_RESPONSE_DATA("multiple_top_k_derived_scalars_response_data"),
  SCORED_TOKENS_RESPONSE_DATA("scored_tokens_response_data"),
  TOKEN_PAIR_ATTRIBUTION_RESPONSE_DATA("token_pair_attribution_response_data");

  private final String value;

  ResponseDataType(String value) {
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
  public static ResponseDataType fromValue(String value) {
    return EnumValues.fromValue(ResponseDataType.class, value, ResponseDataType::value);
  }
}
