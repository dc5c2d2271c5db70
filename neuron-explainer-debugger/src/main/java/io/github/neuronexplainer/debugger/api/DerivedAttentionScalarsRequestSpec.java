package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.DerivedScalarType;

/**
 * A token-pair matrix of one attention component (the original's {@code
 * DerivedAttentionScalarsRequestSpec}): UNFLATTENED_ATTN_WRITE_NORM of head {@code
 * activationIndex}, or ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS of the latent named by the inference
 * spec's {@code activationIndexForWithinLayerGrad}.
 *
 * <p>Immutable and thread-safe.
 */
public record DerivedAttentionScalarsRequestSpec(
    DerivedScalarType dst,
    Integer layerIndex,
    Integer activationIndex,
    NodeIdAndDatasets normalizeActivationsUsingNeuronRecord)
    implements ProcessingRequestSpec {

  public DerivedAttentionScalarsRequestSpec {
    Immutable.required(dst, "dst", "DerivedAttentionScalarsRequestSpec");
    Immutable.required(activationIndex, "activationIndex", "DerivedAttentionScalarsRequestSpec");
  }

  public static DerivedAttentionScalarsRequestSpec of(
      DerivedScalarType dst, Integer layerIndex, int activationIndex) {
    return new DerivedAttentionScalarsRequestSpec(dst, layerIndex, activationIndex, null);
  }

  @Override
  public SpecType specType() {
    return SpecType.DERIVED_ATTENTION_SCALARS_REQUEST_SPEC;
  }
}
