package io.github.neuronexplainer.debugger.api;

import java.util.List;

/** Per token, its row of the token-pair matrix with normalized values and summaries. Immutable. */
public record DerivedAttentionScalarsResponseData(
    List<TokenAndAttentionScalars> tokenAndAttentionScalarsList) implements ProcessingResponseData {

  public DerivedAttentionScalarsResponseData {
    tokenAndAttentionScalarsList =
        List.copyOf(
            Immutable.required(
                tokenAndAttentionScalarsList,
                "tokenAndAttentionScalarsList",
                "DerivedAttentionScalarsResponseData"));
  }

  @Override
  public ResponseDataType responseDataType() {
    return ResponseDataType.DERIVED_ATTENTION_SCALARS_RESPONSE_DATA;
  }
}
