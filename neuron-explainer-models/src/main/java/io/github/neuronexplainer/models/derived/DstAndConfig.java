package io.github.neuronexplainer.models.derived;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import java.util.Objects;

/** A DST with the config to compute it with. Immutable and thread-safe. */
public record DstAndConfig(DerivedScalarType dst, DstConfig config) {
  public DstAndConfig {
    Objects.requireNonNull(dst, "dst");
    Objects.requireNonNull(config, "config");
  }
}
