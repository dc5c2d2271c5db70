package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import java.util.List;

/** Per node, its top attended-to tokens (null where not an active attention latent). Immutable. */
public record TokenPairAttributionResponseData(
    List<NodeIndex> nodeIndices, List<TopTokensAttendedTo> topTokensAttendedToList)
    implements ProcessingResponseData {

  public TokenPairAttributionResponseData {
    nodeIndices =
        List.copyOf(
            Immutable.required(nodeIndices, "nodeIndices", "TokenPairAttributionResponseData"));
    topTokensAttendedToList =
        Immutable.list(
            Immutable.required(
                topTokensAttendedToList,
                "topTokensAttendedToList",
                "TokenPairAttributionResponseData"));
  }

  @Override
  public ResponseDataType responseDataType() {
    return ResponseDataType.TOKEN_PAIR_ATTRIBUTION_RESPONSE_DATA;
  }
}
