package io.github.neuronexplainer.conformance.interactive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.debugger.DebuggerException;
import io.github.neuronexplainer.debugger.InteractiveModel;
import io.github.neuronexplainer.debugger.api.Endpoint;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every interactive golden replayed through {@link InteractiveModel#handle}: the request JSON as
 * the original's front end sent it, under the case's autoencoder setup (SAEs with dead latents
 * omitted and warmed up, as the original's server loads them), compared with the original's
 * response, or its refusal (same HTTP status). Values: atol 1e-5 + rtol 1e-4. Top-k node lists are
 * compared as sets; a node in only one list must sit on a recorded tie ({@code topkTieStraddles}:
 * one of its values equals a cut's boundary value), and tokens or attended-to positions whose
 * scores tie may differ (the harness README's comparison recipe). A summary per pack and setup is
 * logged at the end.
 */
@ExtendWith(PackFixtures.class)
class InteractiveConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(InteractiveConformanceTest.class);
  private static final Map<String, int[]> SUMMARY = new TreeMap<>();
  private static final Map<String, Double> MAX_ERROR = new TreeMap<>();

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("io.github.neuronexplainer.conformance.interactive.InteractiveGolden#cases")
  void responseMatchesTheOriginal(Pack pack, String file, PackFixtures fixtures) {
    InteractiveGolden golden = InteractiveGolden.load(pack, file);
    String key = pack + " " + golden.setup();
    SUMMARY.computeIfAbsent(key, k -> new int[2])[1]++;
    Comparison comparison = new Comparison(golden);
    try (NDManager manager = NDManager.newBaseManager()) {
      InteractiveModel debugger = debugger(golden, fixtures, manager);
      Endpoint endpoint = golden.endpoint();
      String request = golden.request().toString();
      if (golden.isError()) {
        DebuggerException e =
            assertThrows(DebuggerException.class, () -> debugger.handle(endpoint, request));
        JsonNode http = golden.error().path("http");
        if (http.isObject()) {
          assertEquals(
              http.path("status").asInt(),
              e.kind().originalHttpStatus(),
              "refused with "
                  + e.kind()
                  + ": "
                  + e.getMessage()
                  + "; the original: "
                  + golden.error());
        }
        LOG.info("{}: refused as the original ({}: {})", golden, e.kind(), e.getMessage());
      } else {
        String answer = debugger.handle(endpoint, request);
        JsonNode actual = Pack.JSON.readTree(answer);
        comparison.compare("response", golden.response(), actual);
        comparison.assertNoFailures();
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new AssertionError(e);
    }
    SUMMARY.get(key)[0]++;
    MAX_ERROR.merge(key, comparison.maxError, Math::max);
  }

  @AfterAll
  static void summary() {
    SUMMARY.forEach(
        (key, counts) ->
            LOG.info(
                "Interactive goldens {}: {} of {} pass, max abs error {}",
                key,
                counts[0],
                counts[1],
                MAX_ERROR.getOrDefault(key, 0.0)));
  }

  /** The setup's debugger: the pack's model and the setup's SAEs under the harness's names. */
  private static InteractiveModel debugger(
      InteractiveGolden golden, PackFixtures fixtures, NDManager manager) {
    Pack pack = golden.pack();
    InteractiveModel.Builder builder =
        InteractiveModel.builder(fixtures.of(pack).model())
            .modelName(pack.manifest().path("model").path("path").asText());
    for (String family : InteractiveGolden.autoencoderFamilies(golden.setup())) {
      LazyAutoencoderContext context = InteractiveGolden.harnessAutoencoder(pack, family, manager);
      builder.autoencoder(folderName(pack, family), context);
    }
    return builder.build();
  }

  /** The SAE folder name the original's model info echoes ({@code data/tiny-sae/<name>/}). */
  private static String folderName(Pack pack, String family) {
    String path = pack.autoencoderFamily(family).ptPaths().values().iterator().next();
    String[] parts = path.split("/");
    return parts[parts.length - 2];
  }

  /** Collects mismatches between a golden response and ours. */
  private static final class Comparison {
    private final InteractiveGolden golden;
    private final Set<Double> boundaries = new HashSet<>();
    private final List<String> failures = new ArrayList<>();
    private double maxError;

    Comparison(InteractiveGolden golden) {
      this.golden = golden;
      golden
          .json()
          .path("topkTieStraddles")
          .forEach(s -> boundaries.add(s.path("boundaryValue").asDouble()));
    }

    void assertNoFailures() {
      if (!failures.isEmpty()) {
        throw new AssertionError(
            golden
                + ": "
                + failures.size()
                + " differences:\n"
                + String.join("\n", failures.subList(0, Math.min(30, failures.size()))));
      }
      LOG.info("{}: matches, max abs error {}", golden, maxError);
    }

    void value(String path, double expected, double actual) {
      double error = Math.abs(expected - actual);
      if (expected == actual || error <= 1e-5 + 1e-4 * Math.abs(expected)) {
        maxError = Math.max(maxError, error);
      } else {
        failures.add(path + ": expected " + expected + ", got " + actual);
      }
    }

    void compare(String path, JsonNode expected, JsonNode actual) {
      if (expected.isObject() && expected.has("responseDataType")) {
        switch (expected.path("responseDataType").asText()) {
          case "multiple_top_k_derived_scalars_response_data" -> topK(path, expected, actual);
          case "scored_tokens_response_data" -> perNode(path, expected, actual, "topTokensList");
          case "token_pair_attribution_response_data" ->
              perNode(path, expected, actual, "topTokensAttendedToList");
          default -> generic(path, expected, actual);
        }
        return;
      }
      if (expected.isObject() && expected.has("top") && expected.has("bottom")) {
        tokens(path + ".top", expected.path("top"), actual.path("top"));
        tokens(path + ".bottom", expected.path("bottom"), actual.path("bottom"));
        return;
      }
      if (expected.isObject() && expected.has("tokenIndices") && expected.has("attributions")) {
        attended(path, expected, actual);
        return;
      }
      generic(path, expected, actual);
    }

    private void generic(String path, JsonNode expected, JsonNode actual) {
      if (path.endsWith(".inferenceTime")) {
        return; // wall-clock; the golden stores 0.0
      }
      if (expected.isNumber() && actual.isNumber()) {
        value(path, expected.asDouble(), actual.asDouble());
      } else if (expected.isObject() && actual.isObject()) {
        for (Iterator<String> it = expected.fieldNames(); it.hasNext(); ) {
          String field = it.next();
          if (!actual.has(field)) {
            failures.add(path + "." + field + ": missing");
          } else {
            compare(path + "." + field, expected.get(field), actual.get(field));
          }
        }
      } else if (expected.isArray() && actual.isArray()) {
        if (expected.size() != actual.size()) {
          failures.add(path + ": " + expected.size() + " elements, got " + actual.size());
          return;
        }
        for (int i = 0; i < expected.size(); i++) {
          compare(path + "[" + i + "]", expected.get(i), actual.get(i));
        }
      } else if (!expected.equals(actual)) {
        failures.add(path + ": expected " + abbreviate(expected) + ", got " + abbreviate(actual));
      }
    }

    /** Node lists as sets; values per node and group; sums as tensors. */
    private void topK(String path, JsonNode expected, JsonNode actual) {
      Map<JsonNode, Integer> ours = index(actual.path("nodeIndices"));
      Map<JsonNode, Integer> theirs = index(expected.path("nodeIndices"));
      JsonNode expectedValues = expected.path("activationsByGroupId");
      JsonNode actualValues = actual.path("activationsByGroupId");
      theirs.forEach(
          (node, i) -> {
            Integer j = ours.get(node);
            if (j == null) {
              if (!onTie(expectedValues, i)) {
                failures.add(path + ": node " + node + " missing (not on a recorded tie)");
              }
              return;
            }
            for (Iterator<String> groups = expectedValues.fieldNames(); groups.hasNext(); ) {
              String group = groups.next();
              value(
                  path + "." + group + " " + node,
                  expectedValues.path(group).get(i).asDouble(),
                  actualValues.path(group).get(j).asDouble());
            }
            JsonNode strings = expected.path("vocabTokenStringsForIndices");
            if (strings.isArray()) {
              generic(
                  path + ".vocabTokenStringsForIndices " + node,
                  strings.get(i),
                  actual.path("vocabTokenStringsForIndices").get(j));
            }
          });
      ours.forEach(
          (node, j) -> {
            if (!theirs.containsKey(node) && !onTie(actualValues, j)) {
              failures.add(path + ": extra node " + node + " (not on a recorded tie)");
            }
          });
      generic(
          path + ".intermediateSumActivationsByDstByGroupId",
          expected.path("intermediateSumActivationsByDstByGroupId"),
          actual.path("intermediateSumActivationsByDstByGroupId"));
    }

    private boolean onTie(JsonNode valuesByGroup, int i) {
      for (Iterator<String> groups = valuesByGroup.fieldNames(); groups.hasNext(); ) {
        double v = valuesByGroup.path(groups.next()).get(i).asDouble();
        for (double b : boundaries) {
          if (Math.abs(v - b) <= 1e-6 + 1e-5 * Math.abs(b)) {
            return true;
          }
        }
      }
      return false;
    }

    /** Scored tokens / token-pair attribution: per node present in both lists. */
    private void perNode(String path, JsonNode expected, JsonNode actual, String field) {
      Map<JsonNode, Integer> ours = index(actual.path("nodeIndices"));
      Map<JsonNode, Integer> theirs = index(expected.path("nodeIndices"));
      theirs.forEach(
          (node, i) -> {
            Integer j = ours.get(node);
            if (j != null) {
              compare(
                  path + "." + field + " " + node,
                  expected.path(field).get(i),
                  actual.path(field).get(j));
            }
          });
      if (!ours.keySet().containsAll(theirs.keySet()) && ours.size() == 0) {
        failures.add(path + ": no nodes");
      }
    }

    /** Token lists: scalars in order; tokens where their scalar is not tied with a neighbour. */
    private void tokens(String path, JsonNode expected, JsonNode actual) {
      if (expected.size() != actual.size()) {
        failures.add(path + ": " + expected.size() + " tokens, got " + actual.size());
        return;
      }
      for (int i = 0; i < expected.size(); i++) {
        double s = expected.get(i).path("scalar").asDouble();
        value(path + "[" + i + "].scalar", s, actual.get(i).path("scalar").asDouble());
        value(
            path + "[" + i + "].normalizedScalar",
            expected.get(i).path("normalizedScalar").asDouble(),
            actual.get(i).path("normalizedScalar").asDouble());
        boolean tied =
            (i > 0 && close(s, expected.get(i - 1).path("scalar").asDouble()))
                || (i + 1 < expected.size()
                    && close(s, expected.get(i + 1).path("scalar").asDouble()));
        if (!tied && !expected.get(i).path("token").equals(actual.get(i).path("token"))) {
          failures.add(
              path
                  + "["
                  + i
                  + "].token: expected "
                  + expected.get(i).path("token")
                  + ", got "
                  + actual.get(i).path("token"));
        }
      }
    }

    private void attended(String path, JsonNode expected, JsonNode actual) {
      JsonNode e = expected.path("attributions");
      JsonNode a = actual.path("attributions");
      if (e.size() != a.size()) {
        failures.add(path + ": " + e.size() + " attributions, got " + a.size());
        return;
      }
      for (int i = 0; i < e.size(); i++) {
        value(path + ".attributions[" + i + "]", e.get(i).asDouble(), a.get(i).asDouble());
        boolean tied =
            (i > 0 && close(e.get(i).asDouble(), e.get(i - 1).asDouble()))
                || (i + 1 < e.size() && close(e.get(i).asDouble(), e.get(i + 1).asDouble()));
        if (!tied
            && expected.path("tokenIndices").get(i).asInt()
                != actual.path("tokenIndices").get(i).asInt()) {
          failures.add(
              path
                  + ".tokenIndices["
                  + i
                  + "]: expected "
                  + expected.path("tokenIndices").get(i)
                  + ", got "
                  + actual.path("tokenIndices").get(i));
        }
      }
    }

    private static boolean close(double a, double b) {
      return Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(a);
    }

    private static Map<JsonNode, Integer> index(JsonNode nodes) {
      Map<JsonNode, Integer> out = new LinkedHashMap<>();
      for (int i = 0; i < nodes.size(); i++) {
        out.putIfAbsent(nodes.get(i), i);
      }
      return out;
    }

    private static String abbreviate(JsonNode node) {
      String s = node.toString();
      return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
  }
}
