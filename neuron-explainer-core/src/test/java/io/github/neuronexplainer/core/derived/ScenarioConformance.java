package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Data-driven comparison of one scenario of dst.json with the goldens. */
public final class ScenarioConformance {
  private static final Logger LOG = LoggerFactory.getLogger(ScenarioConformance.class);

  private ScenarioConformance() {}

  /**
   * Derives every "ok" DST of {@code scenario} (config from dst.json, customized) from the golden
   * raw store and compares every entry; fails listing every mismatch.
   */
  public static void check(
      GoldenFixture fixture,
      String prompt,
      String scenario,
      UnaryOperator<DstConfig.Builder> customize) {
    check(fixture, prompt, scenario, customize, dst -> true);
  }

  /** As {@link #check(GoldenFixture, String, String, UnaryOperator)} for the selected DSTs. */
  public static void check(
      GoldenFixture fixture,
      String prompt,
      String scenario,
      UnaryOperator<DstConfig.Builder> customize,
      java.util.function.Predicate<DerivedScalarType> selected) {
    JsonNode dsts = GoldenFixture.dstJson(prompt).get("scenarios").get(scenario).get("dsts");
    Map<String, Map<String, NDArray>> goldenFiles = new HashMap<>();
    List<String> failures = new ArrayList<>();
    int checkedDsts = 0;
    int checkedEntries = 0;
    double maxError = 0;
    try (NDManager goldens = fixture.manager.newSubManager();
        RawActivationStore raw = fixture.rawStore(prompt, scenario)) {
      for (Iterator<Map.Entry<String, JsonNode>> it = dsts.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        JsonNode info = e.getValue();
        if (!info.get("status").asText().equals("ok")) {
          continue;
        }
        DerivedScalarType dst = DerivedScalarType.valueOf(e.getKey());
        if (!selected.test(dst)) {
          continue;
        }
        boolean deriveGradients = GoldenFixture.deriveGradients(dst, info);
        DstConfig config =
            customize.apply(fixture.scenarioConfig(scenario).deriveGradients(deriveGradients)).build();
        try (DerivedScalarStore store =
            DerivedScalarStore.deriveFromRaw(
                raw, List.of(ScalarDerivers.makeScalarDeriver(dst, config)), fixture.manager)) {
          TreeSet<String> ours = new TreeSet<>();
          store.entries().forEach(
              (key, am) ->
                  am.layerIndices()
                      .forEach(l -> ours.add(dst.name() + "/" + key.passType().value() + "/" + LayerIndex.format(l))));
          TreeSet<String> expected = new TreeSet<>();
          info.get("entries").fieldNames().forEachRemaining(expected::add);
          if (!ours.equals(expected)) {
            failures.add(dst + ": entries " + ours + " != golden " + expected);
            continue;
          }
          for (Iterator<Map.Entry<String, JsonNode>> entries = info.get("entries").fields();
              entries.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = entries.next();
            String storedIn = entry.getValue().get("stored_in").asText();
            Map<String, NDArray> golden =
                goldenFiles.computeIfAbsent(
                    storedIn,
                    s ->
                        ConformancePack.readSafetensors(
                            ConformancePack.golden().resolve(prompt).resolve("dst_" + s + ".safetensors"),
                            goldens));
            String[] parts = entry.getKey().split("/");
            NDArray actual =
                store.get(dst, PassType.fromValue(parts[1])).get(LayerIndex.parse(parts[2]));
            NDArray want = golden.get(entry.getKey());
            double error = GoldenComparison.compare(entry.getKey(), actual, want, failures);
            maxError = Math.max(maxError, error);
            checkedEntries++;
          }
          checkedDsts++;
        } catch (RuntimeException ex) {
          failures.add(dst + ": " + ex);
        }
      }
    }
    LOG.info(
        "{} {}: {} DSTs, {} entries, max abs error {}",
        prompt,
        scenario,
        checkedDsts,
        checkedEntries,
        maxError);
    if (!failures.isEmpty()) {
      fail(failures.size() + " failures:\n" + String.join("\n", failures));
    }
    assertTrue(checkedDsts > 0, "no DST checked");
  }
}
