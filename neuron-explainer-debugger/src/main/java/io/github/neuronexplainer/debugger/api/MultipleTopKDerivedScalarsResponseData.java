package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import java.util.List;
import java.util.Map;

/**
 * A node table: the nodes (shared by every sub-request of a batch with this spec name), each
 * group's value for every node in this sub-request's run, the decoded token of vocab-token nodes
 * (null if no node is one), and per group and DST the sum over the dimensions not kept.
 *
 * <p>Immutable and thread-safe.
 */
public record MultipleTopKDerivedScalarsResponseData(
    Map<GroupId, List<Double>> activationsByGroupId,
    List<NodeIndex> nodeIndices,
    List<String> vocabTokenStringsForIndices,
    Map<GroupId, Map<DerivedScalarType, TensorND>> intermediateSumActivationsByDstByGroupId)
    implements ProcessingResponseData {

  public MultipleTopKDerivedScalarsResponseData {
    String type = "MultipleTopKDerivedScalarsResponseData";
    activationsByGroupId =
        Immutable.mapValues(
            Immutable.required(activationsByGroupId, "activationsByGroupId", type), List::copyOf);
    nodeIndices = List.copyOf(Immutable.required(nodeIndices, "nodeIndices", type));
    vocabTokenStringsForIndices = Immutable.list(vocabTokenStringsForIndices);
    intermediateSumActivationsByDstByGroupId =
        Immutable.mapValues(
            Immutable.required(
                intermediateSumActivationsByDstByGroupId,
                "intermediateSumActivationsByDstByGroupId",
                type),
            Immutable::map);
  }

  /** The values of {@code group}, parallel to {@link #nodeIndices()}. */
  public List<Double> values(GroupId group) {
    List<Double> values = activationsByGroupId.get(group);
    if (values == null) {
      throw new IllegalArgumentException(
          "No group " + group + "; groups: " + activationsByGroupId.keySet());
    }
    return values;
  }

  @Override
  public ResponseDataType responseDataType() {
    return ResponseDataType.MULTIPLE_TOP_K_DERIVED_SCALARS_RESPONSE_DATA;
  }
}
