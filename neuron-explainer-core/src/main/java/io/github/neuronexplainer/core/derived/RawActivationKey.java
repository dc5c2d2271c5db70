package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;

/** An activation location and pass type: the key of a raw store. Immutable; value equality. */
public record RawActivationKey(ActivationLocationType location, PassType passType) {
  @Override
  public String toString() {
    return location + "/" + passType.value();
  }
}
