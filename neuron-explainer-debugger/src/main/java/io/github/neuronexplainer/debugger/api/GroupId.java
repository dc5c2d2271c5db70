package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * A group of DSTs whose values share units (a node-table column: write norm, act × grad, ...), the
 * original's {@code GroupId}. Serialized as its value string, also as a map key. Immutable.
 */
public enum GroupId {
  ACT_TIMES_GRAD("act_times_grad", false),
  ACTIVATION("activation", true),
  DIRECT_WRITE_TO_GRAD("direct_write_to_grad", false),
  DIRECTION_WRITE("direction_write", false),
  LOGITS("logits", true),
  MLP_LAYER_WRITE("mlp_layer_write", false),
  SINGLETON("singleton", false),
  TOKEN_WRITE("token_write", false),
  TOKEN_READ("token_read", false),
  WRITE_NORM("write_norm", true),
  TOKEN_PAIR_ATTRIBUTION("token_pair_attribution", false);

  private final String value;
  private final boolean excludeBottomK;

  GroupId(String value, boolean excludeBottomK) {
    this.value = value;
    this.excludeBottomK = excludeBottomK;
  }

  @JsonValue
  public String value() {
    return value;
  }

  /**
   * The original's {@code GroupId.exclude_bottom_k}: whether the group's bottom-k is meaningless
   * (non-negative measures). The original's server never applies it (quirk 2); {@link
   * io.github.neuronexplainer.debugger.DebuggerOptions#excludeBottomK()} does.
   */
  public boolean excludeBottomK() {
    return excludeBottomK;
  }

  @JsonCreator
  public static GroupId fromValue(String value) {
    return EnumValues.fromValue(GroupId.class, value, GroupId::value);
  }
}
