package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * What a TDB node table shows for attention layers: heads or autoencoder latents. Serialized as its
 * value string. Immutable.
 */
public enum ComponentTypeForAttention {
  ATTENTION_HEAD("attention_head"),
  AUTOENCODER_LATENT("autoencoder_latent");

  private final String value;

  ComponentTypeForAttention(String value) {
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
  public static ComponentTypeForAttention fromValue(String value) {
    return EnumValues.fromValue(
        ComponentTypeForAttention.class, value, ComponentTypeForAttention::value);
  }
}
