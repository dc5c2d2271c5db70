package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import java.util.List;

/** Per node, its top and bottom tokens (null where the scoring does not apply). Immutable. */
public record ScoredTokensResponseData(List<NodeIndex> nodeIndices, List<TopTokens> topTokensList)
    implements ProcessingResponseData {

  public ScoredTokensResponseData {
    nodeIndices =
        List.copyOf(Immutable.required(nodeIndices, "nodeIndices", "ScoredTokensResponseData"));
    topTokensList =
        Immutable.list(
            Immutable.required(topTokensList, "topTokensList", "ScoredTokensResponseData"));
  }

  @Override
  public ResponseDataType responseDataType() {
    return ResponseDataType.SCORED_TOKENS_RESPONSE_DATA;
  }
}
