package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * One {@link DerivedScalarStore} per group, all derived from the same raw activations (the
 * original's {@code MultiGroupDerivedScalarStore}), and the node-table top-k over all groups. Owns
 * the group stores; close it when done.
 *
 * <p>Immutable after construction; reads may be concurrent.
 *
 * @param <G> the group id type
 */
public final class MultiGroupDerivedScalarStore<G> implements AutoCloseable {
  private final Map<G, DerivedScalarStore> stores;
  private final MultiGroupScalarDerivers<G> derivers;

  private MultiGroupDerivedScalarStore(
      Map<G, DerivedScalarStore> stores, MultiGroupScalarDerivers<G> derivers) {
    this.stores = Collections.unmodifiableMap(stores);
    this.derivers = derivers;
  }

  /**
   * Derives every group from {@code raw}.
   *
   * @throws IllegalStateException if the groups' stores cover different node types
   */
  public static <G> MultiGroupDerivedScalarStore<G> deriveFromRaw(
      RawActivationStore raw, MultiGroupScalarDerivers<G> derivers, NDManager parent) {
    Map<G, DerivedScalarStore> stores = new LinkedHashMap<>();
    try {
      for (Map.Entry<G, List<ScalarDeriver>> e : derivers.derivers().entrySet()) {
        stores.put(e.getKey(), DerivedScalarStore.deriveFromRaw(raw, e.getValue(), parent));
      }
      return checked(stores, derivers);
    } catch (RuntimeException ex) {
      stores.values().forEach(DerivedScalarStore::close);
      throw ex;
    }
  }

  /**
   * The groups as views of a store that already holds every group's DSTs, derived with the same
   * configs (e.g. the runner's store of a prompt): nothing is derived again. The views own nothing,
   * so {@code derived} must stay open while this store is used; closing this store is a no-op.
   *
   * @throws IllegalArgumentException if {@code derived} lacks a DST of a group
   * @throws IllegalStateException if the groups' stores cover different node types
   */
  public static <G> MultiGroupDerivedScalarStore<G> viewOf(
      DerivedScalarStore derived, MultiGroupScalarDerivers<G> derivers) {
    Map<G, DerivedScalarStore> stores = new LinkedHashMap<>();
    for (Map.Entry<G, List<ScalarDeriver>> e : derivers.derivers().entrySet()) {
      // In the group's deriver order, as deriveFromRaw lays them out (rankings see the same order).
      List<ActivationsAndMetadata> entries = new ArrayList<>();
      for (ScalarDeriver deriver : e.getValue()) {
        for (PassType pass : deriver.derivablePassTypes()) {
          if (!derived.contains(deriver.dst(), pass)) {
            throw new IllegalArgumentException(
                "Group "
                    + e.getKey()
                    + " needs "
                    + deriver.dst()
                    + "/"
                    + pass.value()
                    + ", which the store does not hold (it has "
                    + derived.entries().keySet()
                    + "); derive it with deriveFromRaw instead");
          }
          entries.add(derived.get(deriver.dst(), pass));
        }
      }
      stores.put(e.getKey(), DerivedScalarStore.fromList(entries));
    }
    return checked(stores, derivers);
  }

  /** The store over {@code stores}, after checking that every group covers the same node types. */
  private static <G> MultiGroupDerivedScalarStore<G> checked(
      Map<G, DerivedScalarStore> stores, MultiGroupScalarDerivers<G> derivers) {
    Set<NodeType> nodeTypes = null;
    for (Map.Entry<G, DerivedScalarStore> e : stores.entrySet()) {
      DerivedScalarStore store = e.getValue();
      if (nodeTypes == null) {
        nodeTypes = store.nodeTypes();
      } else if (!nodeTypes.equals(store.nodeTypes())) {
        throw new IllegalStateException(
            "Group " + e.getKey() + " covers " + store.nodeTypes() + ", others " + nodeTypes);
      }
    }
    return new MultiGroupDerivedScalarStore<>(stores, derivers);
  }

  public Map<G, DerivedScalarStore> stores() {
    return stores;
  }

  /** The nodes of a multi-group top-k and each group's value for every node, in node order. */
  public record TopK<G>(List<NodeIndex> nodes, Map<G, float[]> valuesByGroup) {
    public TopK {
      nodes = List.copyOf(nodes);
      Map<G, float[]> copy = new LinkedHashMap<>();
      valuesByGroup.forEach((g, v) -> copy.put(g, v.clone()));
      valuesByGroup = Collections.unmodifiableMap(copy);
    }
  }

  /**
   * The original's multi-group top-k (§12): per group, the faithful store top-k (plus the bottom-k
   * unless the group excludes it), mapped to node indices, concatenated over groups and
   * de-duplicated keeping the first occurrence; then every group's (untransformed) value of every
   * node.
   *
   * @param k per-DST k; null = all
   * @param transformActivations applied to every tensor before ranking (e.g. keep one token), or
   *     null
   * @param transformIndices applied to every ranked node index (e.g. restore the token index), or
   *     null
   */
  public TopK<G> topk(
      Integer k,
      UnaryOperator<NDArray> transformActivations,
      UnaryOperator<NodeIndex> transformIndices) {
    LinkedHashSet<NodeIndex> nodes = new LinkedHashSet<>();
    try (NDScope scope = new NDScope()) {
      for (Map.Entry<G, DerivedScalarStore> e : stores.entrySet()) {
        DerivedScalarStore ranked = transformed(e.getValue(), transformActivations);
        List<DerivedScalarIndex> indices =
            new ArrayList<>(
                ranked
                    .topkLikeOriginal(
                        k,
                        io.github.neuronexplainer.core.locations.PassType.FORWARD,
                        null,
                        null,
                        true)
                    .indices());
        if (!derivers.excludeBottomK(e.getKey())) {
          indices.addAll(
              ranked
                  .topkLikeOriginal(
                      k,
                      io.github.neuronexplainer.core.locations.PassType.FORWARD,
                      null,
                      null,
                      false)
                  .indices());
        }
        for (DerivedScalarIndex index : indices) {
          NodeIndex node = NodeIndex.fromDsIndex(index);
          nodes.add(transformIndices == null ? node : transformIndices.apply(node));
        }
      }
    }
    List<NodeIndex> nodeList = new ArrayList<>(nodes);
    Map<G, float[]> values = new LinkedHashMap<>();
    stores.forEach(
        (group, store) -> values.put(group, store.derivedScalarsForNodeIndices(nodeList)));
    return new TopK<>(nodeList, values);
  }

  private static DerivedScalarStore transformed(
      DerivedScalarStore store, UnaryOperator<NDArray> transform) {
    if (transform == null) {
      return store;
    }
    List<ActivationsAndMetadata> maps = new ArrayList<>();
    store
        .entries()
        .values()
        .forEach(
            am -> {
              Map<Integer, NDArray> byLayer = new LinkedHashMap<>();
              am.activationsByLayer().forEach((layer, x) -> byLayer.put(layer, transform.apply(x)));
              maps.add(new ActivationsAndMetadata(am.dst(), am.passType(), byLayer));
            });
    return DerivedScalarStore.fromList(maps);
  }

  @Override
  public void close() {
    stores.values().forEach(DerivedScalarStore::close);
  }
}
