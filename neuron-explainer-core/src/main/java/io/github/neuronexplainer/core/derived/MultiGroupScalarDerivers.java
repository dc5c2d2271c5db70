package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.locations.NodeType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Derivers grouped by a group id (the original's {@code MultiGroupScalarDerivers}): every group
 * measures the same node types, in the same order, with a different kind of value (write norm,
 * act×grad, ...). Insertion order of the groups is kept.
 *
 * <p>Immutable and thread-safe.
 *
 * @param <G> the group id type (e.g. an enum of groups)
 */
public final class MultiGroupScalarDerivers<G> {
  private final Map<G, List<ScalarDeriver>> derivers;
  private final Map<G, Boolean> excludeBottomK;

  /**
   * @param excludeBottomK groups whose bottom-k is not collected (absent = false)
   * @throws IllegalArgumentException if the groups' node-type sequences differ
   */
  public MultiGroupScalarDerivers(
      Map<G, List<ScalarDeriver>> derivers, Map<G, Boolean> excludeBottomK) {
    Map<G, List<ScalarDeriver>> copy = new LinkedHashMap<>();
    derivers.forEach((group, list) -> copy.put(group, List.copyOf(list)));
    if (copy.isEmpty()) {
      throw new IllegalArgumentException("At least one group is needed");
    }
    List<NodeType> first = null;
    for (Map.Entry<G, List<ScalarDeriver>> e : copy.entrySet()) {
      List<NodeType> nodeTypes = new ArrayList<>();
      e.getValue().forEach(d -> nodeTypes.add(d.dst().nodeType()));
      if (first == null) {
        first = nodeTypes;
      } else if (!first.equals(nodeTypes)) {
        throw new IllegalArgumentException(
            "Every group must cover the same node types in the same order; group "
                + e.getKey()
                + " has "
                + nodeTypes
                + ", the first group "
                + first);
      }
    }
    Map<G, Boolean> exclude = new LinkedHashMap<>();
    copy.keySet().forEach(g -> exclude.put(g, excludeBottomK.getOrDefault(g, false)));
    this.derivers = Collections.unmodifiableMap(copy);
    this.excludeBottomK = Collections.unmodifiableMap(exclude);
  }

  /** Builds every (DST, config) with {@link ScalarDerivers#makeScalarDeriver}. */
  public static <G> MultiGroupScalarDerivers<G> fromDstAndConfigListByGroupId(
      Map<G, List<Map.Entry<DerivedScalarType, DstConfig>>> dstsAndConfigs,
      Map<G, Boolean> excludeBottomK) {
    Map<G, List<ScalarDeriver>> derivers = new LinkedHashMap<>();
    dstsAndConfigs.forEach(
        (group, list) -> {
          List<ScalarDeriver> built = new ArrayList<>();
          for (Map.Entry<DerivedScalarType, DstConfig> e : list) {
            built.add(
                ScalarDerivers.makeScalarDeriver(e.getKey(), Objects.requireNonNull(e.getValue())));
          }
          derivers.put(group, built);
        });
    return new MultiGroupScalarDerivers<>(derivers, excludeBottomK);
  }

  public Map<G, List<ScalarDeriver>> derivers() {
    return derivers;
  }

  public boolean excludeBottomK(G group) {
    return excludeBottomK.get(group);
  }

  /** The union of every deriver's raw needs (what the forward/backward pass must record). */
  public Set<RawActivationKey> requiredRawActivations() {
    Set<RawActivationKey> keys = new LinkedHashSet<>();
    derivers.values().forEach(list -> list.forEach(d -> keys.addAll(d.requiredRawActivations())));
    return keys;
  }
}
