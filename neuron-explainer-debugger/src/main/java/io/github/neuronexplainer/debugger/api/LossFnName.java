package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * The loss a backward pass starts from (the original's {@code LossFnName}). Serialized as its value
 * string. Immutable.
 */
public enum LossFnName {
  LOGIT_DIFF("logit_diff"),
  LOGIT_MINUS_MEAN("logit_minus_mean"),
  PROBS("probs"),
  ZERO("zero");

  private final String value;

  LossFnName(String value) {
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
  public static LossFnName fromValue(String value) {
    return EnumValues.fromValue(LossFnName.class, value, LossFnName::value);
  }
}
