package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a processing spec produced (the original's {@code ProcessingResponseData} union), told apart
 * in JSON by {@code responseDataType}. Implementations are immutable and thread-safe.
 */
public sealed interface ProcessingResponseData
    permits DerivedScalarsResponseData,
        DerivedAttentionScalarsResponseData,
        MultipleTopKDerivedScalarsResponseData,
        ScoredTokensResponseData,
        TokenPairAttributionResponseData {

  @JsonProperty(value = "responseDataType", index = 0)
  ResponseDataType responseDataType();
}
