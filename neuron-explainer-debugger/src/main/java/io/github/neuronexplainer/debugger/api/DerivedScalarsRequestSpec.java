package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.PassType;

/**
 * One component's value at every token (the original's {@code DerivedScalarsRequestSpec}): {@code
 * dst} at {@code layerIndex} (null for layer-less DSTs), last index {@code activationIndex}; with
 * {@code numTopTokens}, also the output tokens the component's write at token 0 upvotes (or, for
 * VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION, the input tokens that drive it).
 *
 * <p>Immutable and thread-safe.
 */
public record DerivedScalarsRequestSpec(
    DerivedScalarType dst,
    Integer layerIndex,
    Integer activationIndex,
    NodeIdAndDatasets normalizeActivationsUsingNeuronRecord,
    PassType passType,
    Integer numTopTokens)
    implements ProcessingRequestSpec {

  public DerivedScalarsRequestSpec {
    Immutable.required(dst, "dst", "DerivedScalarsRequestSpec");
    Immutable.required(activationIndex, "activationIndex", "DerivedScalarsRequestSpec");
    passType = passType == null ? PassType.FORWARD : passType;
  }

  /** Forward pass, no normalization, no top tokens. */
  public static DerivedScalarsRequestSpec of(
      DerivedScalarType dst, Integer layerIndex, int activationIndex) {
    return new DerivedScalarsRequestSpec(
        dst, layerIndex, activationIndex, null, PassType.FORWARD, null);
  }

  /** This spec with {@code numTopTokens} top (and bottom) tokens. */
  public DerivedScalarsRequestSpec withNumTopTokens(Integer value) {
    return new DerivedScalarsRequestSpec(
        dst, layerIndex, activationIndex, normalizeActivationsUsingNeuronRecord, passType, value);
  }

  @Override
  public SpecType specType() {
    return SpecType.DERIVED_SCALARS_REQUEST_SPEC;
  }
}
