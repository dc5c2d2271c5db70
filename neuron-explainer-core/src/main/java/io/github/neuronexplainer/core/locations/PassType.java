package io.github.neuronexplainer.core.locations;

/** Forward values or backward (gradient) values of an activation. */
public enum PassType {
  FORWARD("forward"),
  BACKWARD("backward");

  private final String value;

  PassType(String value) {
    this.value = value;
  }

  public String value() {
    return value;
  }

  public static PassType fromValue(String value) {
    return EnumValues.fromValue(PassType.class, value, PassType::value);
  }
}
