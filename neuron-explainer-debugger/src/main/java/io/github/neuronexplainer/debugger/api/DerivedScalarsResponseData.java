package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import java.util.List;

/**
 * One component's value per token, its node per token, and (if asked) its top tokens. Immutable and
 * thread-safe.
 */
public record DerivedScalarsResponseData(
    List<Double> activations,
    List<Double> normalizedActivations,
    List<NodeIndex> nodeIndices,
    TopTokens topTokens)
    implements ProcessingResponseData {

  public DerivedScalarsResponseData {
    activations =
        List.copyOf(Immutable.required(activations, "activations", "DerivedScalarsResponseData"));
    normalizedActivations =
        normalizedActivations == null ? null : List.copyOf(normalizedActivations);
    nodeIndices =
        List.copyOf(Immutable.required(nodeIndices, "nodeIndices", "DerivedScalarsResponseData"));
  }

  @Override
  public ResponseDataType responseDataType() {
    return ResponseDataType.DERIVED_SCALARS_RESPONSE_DATA;
  }
}
