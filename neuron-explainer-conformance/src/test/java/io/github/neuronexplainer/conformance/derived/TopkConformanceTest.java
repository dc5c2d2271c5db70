package io.github.neuronexplainer.conformance.derived;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.GoldenDsts;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.conformance.Tolerance;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code topk.json}: the original's {@code DerivedScalarStore.topk} on one store holding every DST
 * of the primary scenario. Values are compared in order; indices where the golden value is not tied
 * with a neighbour, and every golden index must point at its golden value in our store (indices
 * within ties are unordered in torch). For every pack and prompt that has the file.
 */
@ExtendWith(PackFixtures.class)
class TopkConformanceTest {
  private static final Scenario PRIMARY = Scenario.LOSS_MULTI_SAE;

  static Stream<Arguments> packsAndPrompts() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Pack.Prompt prompt : pack.prompts()) {
        if (pack.hasGolden(prompt.id() + "/topk.json")) {
          args.add(Arguments.of(pack, prompt.id()));
        }
      }
    }
    return args.stream();
  }

  // A pack cut without LOGITS has no topk.json (its store holds LOGITS).
  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("packsAndPrompts")
  void topkResultsMatchTheOriginal(Pack pack, String promptId, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompt(promptId);
    JsonNode topk = pack.json(promptId + "/topk.json");
    int checked = 0;
    try (NDManager manager = fixture.manager().newSubManager()) {
      GoldenDsts golden = new GoldenDsts(pack, prompt, PRIMARY, manager);
      List<ScalarDeriver> derivers = new ArrayList<>();
      for (JsonNode name : topk.get("dsts_in_store")) {
        DerivedScalarType dst = DerivedScalarType.valueOf(name.asText());
        derivers.add(
            ScalarDerivers.makeScalarDeriver(
                dst,
                fixture.config(PRIMARY).deriveGradients(golden.derivedGradients(dst)).build()));
      }
      try (RawActivationStore raw = fixture.rawStore(prompt, PRIMARY);
          DerivedScalarStore store = DerivedScalarStore.deriveFromRaw(raw, derivers, manager)) {
        for (Iterator<Map.Entry<String, JsonNode>> it = topk.get("results").fields();
            it.hasNext(); ) {
          Map.Entry<String, JsonNode> result = it.next();
          if (result.getKey().equals("per_dst")) {
            for (Iterator<Map.Entry<String, JsonNode>> perDst = result.getValue().fields();
                perDst.hasNext(); ) {
              Map.Entry<String, JsonNode> e = perDst.next();
              check(promptId + " per_dst " + e.getKey(), store, e.getValue());
              checked++;
            }
          } else {
            check(promptId + " " + result.getKey(), store, result.getValue());
            checked++;
          }
        }
      }
    }
    assertTrue(checked > 10, "only " + checked + " top-k results checked");
  }

  private static void check(String label, DerivedScalarStore fullStore, JsonNode golden) {
    DerivedScalarStore store = fullStore;
    if (golden.has("store")) {
      // "backward_only_store": the store restricted to its BACKWARD entries.
      store = fullStore.filterPassType(PassType.BACKWARD);
    }
    JsonNode kwargs = golden.path("kwargs");
    PassType pass =
        kwargs.has("pass_type")
            ? PassType.fromValue(kwargs.get("pass_type").asText())
            : PassType.FORWARD;
    boolean largest = kwargs.path("largest").asBoolean(true);
    List<DerivedScalarType> dsts = null;
    if (kwargs.has("dsts")) {
      dsts = new ArrayList<>();
      for (JsonNode d : kwargs.get("dsts")) {
        dsts.add(DerivedScalarType.valueOf(d.asText()));
      }
    }
    final DerivedScalarStore target = store;
    final List<DerivedScalarType> selected = dsts;
    if (golden.has("raises")) {
      // The original's KeyError: filter_pass_type is a no-op, so a DST without this pass fails.
      assertThrows(
          IllegalArgumentException.class,
          () -> target.topkLikeOriginal(10, PassType.BACKWARD, selected, null, largest),
          label);
      return;
    }
    int k = golden.get("k").asInt();
    ActivationsAndMetadata.TopK ours = target.topkLikeOriginal(k, pass, selected, null, largest);
    float[] values = ours.values();
    JsonNode goldenValues = golden.get("values");
    assertEquals(golden.get("n_returned").asInt(), values.length, label + ": n_returned");
    double[] want = new double[values.length];
    for (int i = 0; i < want.length; i++) {
      want[i] = goldenValues.get(i).asDouble();
      assertEquals(want[i], values[i], tolerance(want[i]), label + ": value " + i);
    }
    for (int i = 0; i < want.length; i++) {
      DerivedScalarIndex goldenIndex = parseIndex(golden.get("indices").get(i));
      float atGoldenIndex = fullStore.getScalars(List.of(goldenIndex))[0];
      assertEquals(
          want[i],
          atGoldenIndex,
          tolerance(want[i]),
          label + ": value at golden index " + goldenIndex);
      boolean tiedBefore = i > 0 && nearlyEqual(want[i], want[i - 1]);
      boolean tiedAfter = i + 1 < want.length && nearlyEqual(want[i], want[i + 1]);
      if (!tiedBefore && !tiedAfter && occurrences(fullStore, goldenIndex, want[i]) == 1) {
        assertEquals(goldenIndex, ours.indices().get(i), label + ": index " + i);
      }
    }
  }

  private static boolean nearlyEqual(double a, double b) {
    return a == b || Math.abs(a - b) <= 2 * tolerance(a);
  }

  /** How many scalars of the index's DST and pass (all layers) are within tolerance of value. */
  private static int occurrences(DerivedScalarStore store, DerivedScalarIndex index, double value) {
    int n = 0;
    for (ai.djl.ndarray.NDArray layer :
        store.get(index.dst(), index.passType()).activationsByLayer().values()) {
      for (float v : layer.toFloatArray()) {
        if (nearlyEqual(value, v)) {
          n++;
        }
      }
    }
    return n;
  }

  private static double tolerance(double value) {
    return Tolerance.around(value);
  }

  static DerivedScalarIndex parseIndex(JsonNode node) {
    List<Integer> indices = new ArrayList<>();
    node.get("tensor_indices").forEach(i -> indices.add(i.isNull() ? null : i.asInt()));
    JsonNode layer = node.get("layer_index");
    return new DerivedScalarIndex(
        DerivedScalarType.valueOf(node.get("dst").asText()),
        indices,
        layer.isNull() ? LayerIndex.NONE : layer.asInt(),
        PassType.fromValue(node.get("pass_type").asText()));
  }
}
