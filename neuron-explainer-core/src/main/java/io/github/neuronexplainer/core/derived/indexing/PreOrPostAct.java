package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.locations.EnumValues;

/** Whether a trace starts from a node's pre-activation or post-activation. Immutable. */
public enum PreOrPostAct {
  PRE("pre"),
  POST("post");

  private final String value;

  PreOrPostAct(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  public static PreOrPostAct fromValue(String value) {
    return EnumValues.fromValue(PreOrPostAct.class, value, PreOrPostAct::value);
  }
}
