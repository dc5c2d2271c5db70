package io.github.neuronexplainer.core.derived.indexing;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * One scalar (or a slice of scalars) of a derived scalar store: DST, tensor indices aligned with
 * the DST's full shape spec (null = all along that dimension; fewer indices than dimensions means
 * "all" for the rest), layer ({@link LayerIndex#NONE} for layer-less DSTs) and pass type.
 *
 * <p>Immutable and thread-safe; value equality.
 */
public record DerivedScalarIndex(
    DerivedScalarType dst, List<Integer> tensorIndices, int layerIndex, PassType passType) {

  public DerivedScalarIndex {
    tensorIndices = IndexChecks.copyWithNulls(tensorIndices);
    if (tensorIndices.size() > dst.ndimPerTokenSequence()) {
      throw new IllegalArgumentException(
          "DerivedScalarIndex for "
              + dst
              + " has "
              + tensorIndices.size()
              + " tensor indices but the DST has only "
              + dst.ndimPerTokenSequence()
              + " dimensions "
              + dst.shapeSpecPerTokenSequence());
    }
  }

  /** Tensor index per dimension of the shape spec, padded with null. */
  public Map<Dimension, Integer> tensorIndexByDimension() {
    Map<Dimension, Integer> byDim = new EnumMap<>(Dimension.class);
    List<Dimension> spec = dst.shapeSpecPerTokenSequence();
    for (int i = 0; i < spec.size(); i++) {
      byDim.put(spec.get(i), i < tensorIndices.size() ? tensorIndices.get(i) : null);
    }
    return byDim;
  }

  /**
   * The index of {@code nodeIndex}'s scalar in {@code dst}.
   *
   * @throws IllegalArgumentException if the node type differs from the DST's node type
   */
  public static DerivedScalarIndex fromNodeIndex(NodeIndex nodeIndex, DerivedScalarType dst) {
    if (nodeIndex.nodeType() != dst.nodeType()) {
      throw new IllegalArgumentException(
          "Node index of type "
              + nodeIndex.nodeType()
              + " cannot index "
              + dst
              + " (node type "
              + dst.nodeType()
              + ")");
    }
    return new DerivedScalarIndex(
        dst, nodeIndex.tensorIndices(), nodeIndex.layerIndex(), nodeIndex.passType());
  }

  /** The JSON form {@code {dst, tensorIndices, layerIndex, passType}}. */
  public Mirrored toMirrored() {
    return new Mirrored(
        dst.value(),
        tensorIndices,
        layerIndex == LayerIndex.NONE ? null : layerIndex,
        passType.value());
  }

  /** The original's {@code MirroredDerivedScalarIndex} (camelCase JSON; layer null = none). */
  public record Mirrored(
      String dst, List<Integer> tensorIndices, Integer layerIndex, String passType) {
    public DerivedScalarIndex toDerivedScalarIndex() {
      return new DerivedScalarIndex(
          DerivedScalarType.fromValue(dst),
          tensorIndices,
          layerIndex == null ? LayerIndex.NONE : layerIndex,
          PassType.fromValue(passType));
    }
  }
}
