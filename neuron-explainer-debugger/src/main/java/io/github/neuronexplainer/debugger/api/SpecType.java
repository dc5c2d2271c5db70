package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * The discriminator a spec writes as {@code specType} (the original's {@code SpecType}). Serialized
 * as its value string. Immutable.
 */
public enum SpecType {
  ACTIVATIONS_REQUEST_SPEC("activations_request_spec"),
  DERIVED_SCALARS_REQUEST_SPEC("derived_scalars_request_spec"),
  DERIVED_ATTENTION_SCALARS_REQUEST_SPEC("derived_attention_scalars_request_spec"),
  MULTIPLE_TOP_K_DERIVED_SCALARS_REQUEST_SPEC("multiple_top_k_derived_scalars_request_spec"),
  SCORED_TOKENS_REQUEST_SPEC("scored_tokens_request_spec"),
  TDB_REQUEST_SPEC("tdb_request_spec"),
  TOKEN_PAIR_ATTRIBUTION_REQUEST_SPEC("token_pair_attribution_request_spec");

  private final String value;

  SpecType(String value) {
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
  public static SpecType fromValue(String value) {
    return EnumValues.fromValue(SpecType.class, value, SpecType::value);
  }
}
