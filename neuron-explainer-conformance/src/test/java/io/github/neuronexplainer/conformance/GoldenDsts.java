package io.github.neuronexplainer.conformance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The derived-scalar goldens of one prompt and scenario ({@code pN/dst.json} and the {@code
 * dst_<scenario>.safetensors} files its entries are stored in), and the comparison of a store with
 * them. Collects every mismatch rather than stopping at the first.
 */
public final class GoldenDsts {
  private final Pack pack;
  private final Pack.Prompt prompt;
  private final JsonNode scenario;
  private final NDManager manager;
  private final Map<String, Map<String, NDArray>> files = new HashMap<>();
  private final List<String> failures = new ArrayList<>();
  private double maxError;
  private int entriesChecked;

  public GoldenDsts(Pack pack, Pack.Prompt prompt, Scenario scenario, NDManager manager) {
    this.pack = pack;
    this.prompt = prompt;
    this.scenario = pack.json(prompt.id() + "/dst.json").path("scenarios").path(scenario.value());
    this.manager = manager;
  }

  /** The scenario's loss value in the original. */
  public double loss() {
    return scenario.path("loss").asDouble();
  }

  /** The DSTs the original computed in this scenario ("ok"), in dst.json's order. */
  public List<DerivedScalarType> computed() {
    List<DerivedScalarType> dsts = new ArrayList<>();
    scenario
        .path("dsts")
        .fields()
        .forEachRemaining(
            e -> {
              if (e.getValue().path("status").asText().equals("ok")) {
                dsts.add(DerivedScalarType.valueOf(e.getKey()));
              }
            });
    return dsts;
  }

  /**
   * Whether the original computed the DST with derive_gradients: the library default (not for DSTs
   * that need a backward pass for their forward value) unless dst.json says it was retried without.
   */
  public boolean derivedGradients(DerivedScalarType dst) {
    return scenario.path("dsts").path(dst.name()).path("config").asText().equals("default")
        && !dst.requiresGradForForwardPass();
  }

  /**
   * Compares the store's entries of {@code dst} with every golden entry (same set of pass/layer
   * keys).
   */
  public void compare(DerivedScalarType dst, DerivedScalarStore store) {
    JsonNode entries = scenario.path("dsts").path(dst.name()).path("entries");
    TreeSet<String> ours = new TreeSet<>();
    store
        .entries()
        .forEach(
            (key, values) -> {
              if (key.dst() == dst) {
                values
                    .layerIndices()
                    .forEach(
                        l ->
                            ours.add(
                                dst.name()
                                    + "/"
                                    + key.passType().value()
                                    + "/"
                                    + LayerIndex.format(l)));
              }
            });
    TreeSet<String> expected = new TreeSet<>();
    entries.fieldNames().forEachRemaining(expected::add);
    if (!ours.equals(expected)) {
      failures.add(dst + ": entries " + ours + " != golden " + expected);
      return;
    }
    entries
        .fields()
        .forEachRemaining(
            entry -> {
              String storedIn = entry.getValue().path("stored_in").asText();
              Map<String, NDArray> golden =
                  files.computeIfAbsent(
                      storedIn,
                      s -> pack.arrays(prompt.id() + "/dst_" + s + ".safetensors", manager));
              String[] parts = entry.getKey().split("/"); // DST / pass / layer
              NDArray actual =
                  store.get(dst, PassType.fromValue(parts[1])).get(LayerIndex.parse(parts[2]));
              maxError =
                  Math.max(
                      maxError,
                      Tolerance.compare(
                          entry.getKey(), actual, golden.get(entry.getKey()), failures));
              entriesChecked++;
            });
  }

  public void fail(String failure) {
    failures.add(failure);
  }

  public List<String> failures() {
    return failures;
  }

  public int entriesChecked() {
    return entriesChecked;
  }

  public double maxError() {
    return maxError;
  }

  /** Throws listing every failure; also fails when nothing was compared. */
  public void assertNoFailures(String what) {
    if (!failures.isEmpty()) {
      throw new AssertionError(
          what + ": " + failures.size() + " failures:\n" + String.join("\n", failures));
    }
    if (entriesChecked == 0) {
      throw new AssertionError(what + ": no golden entry compared");
    }
  }

  /** Every DST of dst.json with its status, for tests of refusals. */
  public Map<DerivedScalarType, JsonNode> all() {
    Map<DerivedScalarType, JsonNode> all = new LinkedHashMap<>();
    scenario
        .path("dsts")
        .fields()
        .forEachRemaining(e -> all.put(DerivedScalarType.valueOf(e.getKey()), e.getValue()));
    return all;
  }
}
