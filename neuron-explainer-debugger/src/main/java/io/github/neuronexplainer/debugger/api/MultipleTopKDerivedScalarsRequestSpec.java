package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The node-table engine (the original's {@code MultipleTopKDerivedScalarsRequestSpec}): per group
 * (in order), each DST's top and bottom {@code topAndBottomK} (null = every scalar), the union of
 * their nodes, and every group's value for every node; plus per-DST sums over the dimensions not
 * kept. {@code tokenIndex} restricts the ranking to one token (and is written back literally into
 * the node indices, e.g. -1). Within a group, DSTs must have distinct node types, and every group
 * must list the same node types in the same order.
 *
 * <p>Immutable and thread-safe. Build with {@link #builder()}.
 */
public record MultipleTopKDerivedScalarsRequestSpec(
    Map<GroupId, List<DerivedScalarType>> dstListByGroupId,
    Integer tokenIndex,
    Integer topAndBottomK,
    PassType passType,
    List<Dimension> dimensionsToKeepForIntermediateSum)
    implements ProcessingRequestSpec {

  /** The original's default {@code dimensionsToKeepForIntermediateSum}. */
  public static final List<Dimension> DEFAULT_DIMENSIONS_TO_KEEP =
      List.of(Dimension.SEQUENCE_TOKENS, Dimension.ATTENDED_TO_SEQUENCE_TOKENS);

  public MultipleTopKDerivedScalarsRequestSpec {
    Immutable.required(
        dstListByGroupId, "dstListByGroupId", "MultipleTopKDerivedScalarsRequestSpec");
    dstListByGroupId = Immutable.mapValues(dstListByGroupId, List::copyOf);
    passType = passType == null ? PassType.FORWARD : passType;
    dimensionsToKeepForIntermediateSum =
        dimensionsToKeepForIntermediateSum == null
            ? DEFAULT_DIMENSIONS_TO_KEEP
            : List.copyOf(dimensionsToKeepForIntermediateSum);
  }

  @Override
  public SpecType specType() {
    return SpecType.MULTIPLE_TOP_K_DERIVED_SCALARS_REQUEST_SPEC;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final Map<GroupId, List<DerivedScalarType>> groups = new LinkedHashMap<>();
    private Integer tokenIndex;
    private Integer topAndBottomK;
    private PassType passType = PassType.FORWARD;
    private List<Dimension> dimensionsToKeep = DEFAULT_DIMENSIONS_TO_KEEP;

    public Builder group(GroupId group, DerivedScalarType... dsts) {
      groups.put(group, List.of(dsts));
      return this;
    }

    public Builder group(GroupId group, List<DerivedScalarType> dsts) {
      groups.put(group, List.copyOf(dsts));
      return this;
    }

    public Builder tokenIndex(Integer value) {
      tokenIndex = value;
      return this;
    }

    public Builder topAndBottomK(Integer value) {
      topAndBottomK = value;
      return this;
    }

    public Builder passType(PassType value) {
      passType = value;
      return this;
    }

    public Builder dimensionsToKeepForIntermediateSum(List<Dimension> value) {
      dimensionsToKeep = value;
      return this;
    }

    public MultipleTopKDerivedScalarsRequestSpec build() {
      return new MultipleTopKDerivedScalarsRequestSpec(
          groups, tokenIndex, topAndBottomK, passType, dimensionsToKeep);
    }
  }
}
