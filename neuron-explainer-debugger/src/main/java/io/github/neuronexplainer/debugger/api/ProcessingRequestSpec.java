package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What to extract from one run (the original's {@code ProcessingRequestSpec} union). In JSON the
 * kind is resolved as the original resolves it (see {@link
 * io.github.neuronexplainer.debugger.json.DebuggerJson}); {@code specType} is always written.
 *
 * <p>Implementations are immutable and thread-safe.
 */
public sealed interface ProcessingRequestSpec
    permits MultipleTopKDerivedScalarsRequestSpec,
        DerivedScalarsRequestSpec,
        DerivedAttentionScalarsRequestSpec,
        ScoredTokensRequestSpec,
        TokenPairAttributionRequestSpec {

  /** The discriminator, written first in JSON. */
  @JsonProperty(value = "specType", index = 0)
  SpecType specType();
}
