package io.github.neuronexplainer.conformance.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.MultiGroupDerivedScalarStore;
import io.github.neuronexplainer.core.derived.MultiGroupScalarDerivers;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The catalogue's §12 example: WRITE_NORM (no bottom-k) and ACT_TIMES_GRAD groups, k = 2. */
@ExtendWith(PackFixtures.class)
class MultiGroupConformanceTest {
  private static final Scenario SCENARIO = Scenario.LOSS_MULTI_SAE;

  static List<Pack> packs() {
    return Pack.all();
  }

  private static MultiGroupScalarDerivers<String> groups(PackFixture fixture) {
    DstConfig config = fixture.config(SCENARIO).build();
    Map<String, List<ScalarDeriver>> derivers = new LinkedHashMap<>();
    derivers.put(
        "WRITE_NORM",
        List.of(
            ScalarDerivers.makeScalarDeriver(MLP_WRITE_NORM, config),
            ScalarDerivers.makeScalarDeriver(UNFLATTENED_ATTN_WRITE_NORM, config)));
    derivers.put(
        "ACT_TIMES_GRAD",
        List.of(
            ScalarDerivers.makeScalarDeriver(MLP_ACT_TIMES_GRAD, config),
            ScalarDerivers.makeScalarDeriver(UNFLATTENED_ATTN_ACT_TIMES_GRAD, config)));
    return new MultiGroupScalarDerivers<>(derivers, Map.of("WRITE_NORM", true));
  }

  @ParameterizedTest
  @MethodSource("packs")
  void nodesAreTheDeduplicatedUnionAndEveryGroupValuesEveryNode(Pack pack, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompts().get(0);
    MultiGroupScalarDerivers<String> groups = groups(fixture);
    try (RawActivationStore raw = fixture.rawStore(prompt, SCENARIO);
        MultiGroupDerivedScalarStore<String> store =
            MultiGroupDerivedScalarStore.deriveFromRaw(raw, groups, fixture.manager())) {
      MultiGroupDerivedScalarStore.TopK<String> top = store.topk(2, null, null);
      DerivedScalarStore writeNorm = store.stores().get("WRITE_NORM");
      DerivedScalarStore actTimesGrad = store.stores().get("ACT_TIMES_GRAD");
      LinkedHashSet<NodeIndex> expected = new LinkedHashSet<>();
      writeNorm.topkLikeOriginal(2).indices().forEach(i -> expected.add(NodeIndex.fromDsIndex(i)));
      actTimesGrad
          .topkLikeOriginal(2)
          .indices()
          .forEach(i -> expected.add(NodeIndex.fromDsIndex(i)));
      actTimesGrad
          .topkLikeOriginal(2, PassType.FORWARD, null, null, false)
          .indices()
          .forEach(i -> expected.add(NodeIndex.fromDsIndex(i)));
      assertEquals(new ArrayList<>(expected), top.nodes());
      assertTrue(
          top.nodes().size() <= 12 && top.nodes().size() >= 4, "node count " + top.nodes().size());
      assertEquals(
          List.of(writeNorm.topkLikeOriginal(2).values()[0]).get(0),
          top.valuesByGroup().get("WRITE_NORM")[0]);
      for (int i = 0; i < top.nodes().size(); i++) {
        NodeIndex node = top.nodes().get(i);
        DerivedScalarIndex wn =
            DerivedScalarIndex.fromNodeIndex(node, writeNorm.dstForNodeType(node.nodeType()));
        DerivedScalarIndex atg =
            DerivedScalarIndex.fromNodeIndex(node, actTimesGrad.dstForNodeType(node.nodeType()));
        assertEquals(writeNorm.get(wn)[0], top.valuesByGroup().get("WRITE_NORM")[i]);
        assertEquals(actTimesGrad.get(atg)[0], top.valuesByGroup().get("ACT_TIMES_GRAD")[i]);
      }
      // Token-restricted top-k (the server's transform functions).
      int token = 3;
      MultiGroupDerivedScalarStore.TopK<String> atToken =
          store.topk(
              2,
              x -> x.get(new NDIndex(token + ":" + (token + 1))),
              node -> {
                List<Integer> indices = new ArrayList<>(node.tensorIndices());
                indices.set(0, token);
                return new NodeIndex(node.nodeType(), indices, node.layerIndex(), node.passType());
              });
      atToken.nodes().forEach(n -> assertEquals(token, n.tensorIndices().get(0)));
    }
  }

  @ParameterizedTest
  @MethodSource("packs")
  void viewsOfOneDerivedStoreGiveTheSameNodesAndValuesAsDerivingEachGroup(
      Pack pack, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompts().get(0);
    MultiGroupScalarDerivers<String> groups = groups(fixture);
    List<ScalarDeriver> all = new ArrayList<>();
    // every group's DSTs in one store, in another order than the groups list them
    groups.derivers().values().forEach(list -> all.addAll(0, list));
    try (RawActivationStore raw = fixture.rawStore(prompt, SCENARIO);
        MultiGroupDerivedScalarStore<String> derived =
            MultiGroupDerivedScalarStore.deriveFromRaw(raw, groups, fixture.manager());
        DerivedScalarStore once = DerivedScalarStore.deriveFromRaw(raw, all, fixture.manager());
        MultiGroupDerivedScalarStore<String> views =
            MultiGroupDerivedScalarStore.viewOf(once, groups)) {
      MultiGroupDerivedScalarStore.TopK<String> expected = derived.topk(3, null, null);
      MultiGroupDerivedScalarStore.TopK<String> actual = views.topk(3, null, null);
      assertEquals(expected.nodes(), actual.nodes());
      for (String group : List.of("WRITE_NORM", "ACT_TIMES_GRAD")) {
        assertArrayEquals(
            expected.valuesByGroup().get(group), actual.valuesByGroup().get(group), group);
      }
      DerivedScalarStore partial = once.filterDsts(List.of(MLP_WRITE_NORM, MLP_ACT_TIMES_GRAD));
      IllegalArgumentException missing =
          assertThrows(
              IllegalArgumentException.class,
              () -> MultiGroupDerivedScalarStore.viewOf(partial, groups));
      assertTrue(
          missing.getMessage().contains("UNFLATTENED_ATTN_WRITE_NORM"), missing.getMessage());
    }
  }

  @ParameterizedTest
  @MethodSource("packs")
  void groupsMustCoverTheSameNodeTypes(Pack pack, PackFixtures fixtures) {
    DstConfig config = fixtures.of(pack).config(SCENARIO).build();
    Map<String, List<ScalarDeriver>> derivers = new LinkedHashMap<>();
    derivers.put("A", List.of(ScalarDerivers.makeScalarDeriver(MLP_WRITE_NORM, config)));
    derivers.put(
        "B", List.of(ScalarDerivers.makeScalarDeriver(UNFLATTENED_ATTN_WRITE_NORM, config)));
    assertThrows(
        IllegalArgumentException.class, () -> new MultiGroupScalarDerivers<>(derivers, Map.of()));
  }
}
