package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * Which part of an attention head a trace goes through: the query, the key, both, or the value (the
 * original's {@code AttentionTraceType}). Immutable.
 */
public enum AttentionTraceType {
  Q("Q"),
  K("K"),
  QK("QK"),
  V("V");

  private final String value;

  AttentionTraceType(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  public static AttentionTraceType fromValue(String value) {
    return EnumValues.fromValue(AttentionTraceType.class, value, AttentionTraceType::value);
  }
}
