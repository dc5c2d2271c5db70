package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Data-driven conformance with the original: every DST entry of the four loss scenarios, for every
 * prompt of the manifest, derived from the golden raw activations (tolerance atol 1e-5 + rtol
 * 1e-4, as check_golden.py).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LossScenarioConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(LossScenarioConformanceTest.class);

  private GoldenFixture fixture;

  @BeforeAll
  void load() {
    fixture = new GoldenFixture();
  }

  @AfterAll
  void close() {
    fixture.close();
  }

  static Stream<Arguments> promptsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (String prompt : ConformancePack.promptIds()) {
      for (String scenario : GoldenFixture.LOSS_SCENARIOS.keySet()) {
        args.add(Arguments.of(prompt, scenario));
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("promptsAndScenarios")
  void everyGoldenEntryMatches(String prompt, String scenario) {
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
        boolean deriveGradients = GoldenFixture.deriveGradients(dst, info);
        DstConfig config = fixture.scenarioConfig(scenario).deriveGradients(deriveGradients).build();
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
