package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.github.neuronexplainer.core.locations.EnumValues;

/**
 * What a TDB node table shows for MLP layers: neurons or autoencoder latents. Serialized as its
 * value string. Immutable.
 */
public enum ComponentTypeForMlp {
  NEURON("neuron"),
  AUTOENCODER_LATENT("autoencoder_latent");

  private final String value;

  ComponentTypeForMlp(String value) {
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
  public static ComponentTypeForMlp fromValue(String value) {
    return EnumValues.fromValue(ComponentTypeForMlp.class, value, ComponentTypeForMlp::value);
  }
}
