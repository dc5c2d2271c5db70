package io.github.neuronexplainer.explanations;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.FastDataclass;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.prompt.ChatMessage;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.TokenCounter;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;

/**
 * Loads golden files, converts values to JSON and compares them with the conventions of the
 * goldens.
 */
final class ConformanceSupport {
  static final JsonNodeFactory NF = JsonNodeFactory.instance;
  private static final double REL_TOL = 1e-9;
  private static final double ABS_TOL = 1e-12;

  /** Per-file outcome counts, printed at the end of each factory's run. */
  static final Map<String, int[]> COUNTS = new ConcurrentHashMap<>();

  private ConformanceSupport() {}

  @FunctionalInterface
  interface Handler {
    /**
     * Runs the case; returns the actual value (JSON-convertible) to compare with {@code
     * expected.value}.
     */
    Object run(JsonNode inputs, JsonNode testCase) throws Exception;
  }

  /** Custom comparison for a case. */
  @FunctionalInterface
  interface Checker {
    void check(JsonNode expectedValue, Object actual, JsonNode testCase);
  }

  record Spec(Handler handler, Checker checker) {}

  /** Reads a golden file from {@code -Dconformance.explanations.dir} or from the test resources. */
  static JsonNode load(String file) {
    String dir = System.getProperty("conformance.explanations.dir");
    try {
      if (dir != null && !dir.isBlank()) {
        return Json.MAPPER.readTree(Files.readString(Path.of(dir, file)));
      }
      try (InputStream in =
          ConformanceSupport.class.getResourceAsStream("/conformance/explanations/" + file)) {
        if (in == null) {
          throw new IllegalStateException("Missing test resource conformance/explanations/" + file);
        }
        return Json.MAPPER.readTree(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * One dynamic test per case; a case whose function has no handler fails, a skipped case is
   * reported with its reason in the name.
   */
  static Stream<DynamicTest> cases(
      String file, Map<String, Spec> specs, Map<String, String> skipsByCaseName) {
    return cases(file, specs, skipsByCaseName, c -> null);
  }

  /** As above, with an extra rule that gives a skip reason (or null) per case. */
  static Stream<DynamicTest> cases(
      String file,
      Map<String, Spec> specs,
      Map<String, String> skipsByCaseName,
      java.util.function.Function<JsonNode, String> skipRule) {
    JsonNode root = load(file);
    int[] counts = COUNTS.computeIfAbsent(file, k -> new int[3]);
    List<DynamicTest> tests = new ArrayList<>();
    AtomicInteger remaining = new AtomicInteger(root.get("cases").size());
    for (JsonNode c : root.get("cases")) {
      String name = c.get("name").asText();
      String function = c.get("function").asText();
      String skip = skipsByCaseName.get(name);
      if (skip == null) {
        for (Map.Entry<String, String> e : skipsByCaseName.entrySet()) {
          if (e.getKey().startsWith("fn:") && function.equals(e.getKey().substring(3))) {
            skip = e.getValue();
          }
        }
      }
      if (skip == null) {
        skip = skipRule.apply(c);
      }
      String skipReason = skip;
      String display = name + (skipReason == null ? "" : " [SKIPPED: " + skipReason + "]");
      tests.add(
          DynamicTest.dynamicTest(
              display,
              () -> {
                try {
                  if (skipReason != null) {
                    counts[2]++;
                    Assumptions.abort(skipReason);
                  }
                  Spec spec = specs.get(function);
                  if (spec == null) {
                    fail("No handler for function " + function);
                  }
                  runCase(c, spec);
                  counts[0]++;
                } catch (AssertionError | RuntimeException e) {
                  if (!(e instanceof org.opentest4j.TestAbortedException)) {
                    counts[1]++;
                  }
                  throw e;
                } finally {
                  if (remaining.decrementAndGet() == 0) {
                    System.out.printf(
                        "CONFORMANCE %s: %d passed, %d failed, %d skipped%n",
                        file, counts[0], counts[1], counts[2]);
                  }
                }
              }));
    }
    return tests.stream();
  }

  private static void runCase(JsonNode c, Spec spec) throws Exception {
    JsonNode expected = c.get("expected");
    if (expected.has("error")) {
      try {
        Object v = spec.handler().run(c.get("inputs"), c);
        fail("Expected " + expected.get("error") + " but got " + abbreviate(String.valueOf(v)));
      } catch (NullPointerException | ClassCastException e) {
        throw new AssertionError(
            "Expected " + expected.get("error") + " but the port failed with a bug: " + e, e);
      } catch (RuntimeException e) {
        // expected: the port raises where the original raises
      }
      return;
    }
    Object actual = spec.handler().run(c.get("inputs"), c);
    if (spec.checker() != null) {
      spec.checker().check(expected.get("value"), actual, c);
    } else {
      assertMatches(expected.get("value"), toJson(actual), "$");
    }
  }

  static String abbreviate(String s) {
    return s.length() < 400 ? s : s.substring(0, 400) + "…";
  }

  // ---------------------------------------------------------------- conversion to JSON

  /**
   * Converts a Java value to the goldens' JSON conventions (non-finite floats as strings, no
   * dataclass_name).
   */
  static JsonNode toJson(Object v) {
    if (v == null) {
      return NF.nullNode();
    }
    if (v instanceof JsonNode n) {
      return n;
    }
    if (v instanceof FastDataclass dc) {
      ObjectNode o = NF.objectNode();
      dc.fields().forEach((k, val) -> o.set(k, toJson(val)));
      return o;
    }
    if (v instanceof Prompt p) {
      return p.isChat() ? toJson(p.messages()) : NF.textNode(p.text());
    }
    if (v instanceof ChatMessage m) {
      return NF.objectNode().put("role", m.role().value()).put("content", m.content());
    }
    if (v instanceof Map<?, ?> m) {
      ObjectNode o = NF.objectNode();
      m.forEach((k, val) -> o.set(String.valueOf(k), toJson(val)));
      return o;
    }
    if (v instanceof Collection<?> list) {
      ArrayNode a = NF.arrayNode();
      list.forEach(x -> a.add(toJson(x)));
      return a;
    }
    if (v instanceof int[] arr) {
      ArrayNode a = NF.arrayNode();
      for (int i : arr) {
        a.add(i);
      }
      return a;
    }
    if (v instanceof long[] arr) {
      ArrayNode a = NF.arrayNode();
      for (long i : arr) {
        a.add(i);
      }
      return a;
    }
    if (v instanceof double[] arr) {
      ArrayNode a = NF.arrayNode();
      for (double d : arr) {
        a.add(toJson(d));
      }
      return a;
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d)) {
        return NF.textNode("NaN");
      }
      if (Double.isInfinite(d)) {
        return NF.textNode(d > 0 ? "Infinity" : "-Infinity");
      }
      return NF.numberNode(d);
    }
    if (v instanceof Number n) {
      return NF.numberNode(n.longValue());
    }
    if (v instanceof String s) {
      return NF.textNode(s);
    }
    if (v instanceof Boolean b) {
      return NF.booleanNode(b);
    }
    if (v instanceof ActivationScale s) {
      return NF.textNode(s.value());
    }
    if (v instanceof Enum<?> e) {
      return NF.textNode(e.name());
    }
    throw new IllegalArgumentException("Cannot convert " + v.getClass());
  }

  // ---------------------------------------------------------------- comparison

  private static boolean isNonFiniteText(JsonNode n) {
    return n.isTextual()
        && (n.textValue().equals("NaN")
            || n.textValue().equals("Infinity")
            || n.textValue().equals("-Infinity"));
  }

  /**
   * Strings, ints and structure exact; floats within 1e-9 relative / 1e-12 absolute; dataclass_name
   * ignored.
   */
  static void assertMatches(JsonNode expected, JsonNode actual, String path) {
    if (expected.isObject()) {
      if (!actual.isObject()) {
        fail(
            path
                + ": expected object "
                + abbreviate(expected.toString())
                + " but got "
                + abbreviate(actual.toString()));
      }
      List<String> expectedKeys = new ArrayList<>();
      expected.fieldNames().forEachRemaining(expectedKeys::add);
      List<String> actualKeys = new ArrayList<>();
      actual
          .fieldNames()
          .forEachRemaining(
              k -> {
                if (!k.equals("dataclass_name") || expected.has("dataclass_name")) {
                  actualKeys.add(k);
                }
              });
      assertEquals(
          new java.util.TreeSet<>(expectedKeys),
          new java.util.TreeSet<>(actualKeys),
          path + ": keys");
      for (String k : expectedKeys) {
        assertMatches(expected.get(k), actual.get(k), path + "." + k);
      }
    } else if (expected.isArray()) {
      if (!actual.isArray()) {
        fail(
            path
                + ": expected array "
                + abbreviate(expected.toString())
                + " but got "
                + abbreviate(actual.toString()));
      }
      assertEquals(
          expected.size(), actual.size(), path + ": length of " + abbreviate(actual.toString()));
      for (int i = 0; i < expected.size(); i++) {
        assertMatches(expected.get(i), actual.get(i), path + "[" + i + "]");
      }
    } else if (expected.isIntegralNumber()) {
      if (!actual.isIntegralNumber()) {
        fail(path + ": expected int " + expected + " but got " + actual);
      }
      assertEquals(expected.bigIntegerValue(), actual.bigIntegerValue(), path);
    } else if (expected.isNumber() || isNonFiniteText(expected)) {
      if (!(actual.isFloatingPointNumber() || isNonFiniteText(actual))) {
        fail(path + ": expected float " + expected + " but got " + actual);
      }
      assertClose(Json.number(expected).doubleValue(), Json.number(actual).doubleValue(), path);
    } else if (expected.isTextual()) {
      if (!actual.isTextual()) {
        fail(path + ": expected string but got " + abbreviate(actual.toString()));
      }
      if (!expected.textValue().equals(actual.textValue())) {
        assertEquals(expected.textValue(), actual.textValue(), path);
      }
    } else {
      assertEquals(expected, actual, path);
    }
  }

  static boolean matches(JsonNode expected, JsonNode actual) {
    try {
      assertMatches(expected, actual, "$");
      return true;
    } catch (AssertionError e) {
      return false;
    }
  }

  static void assertClose(double expected, double actual, String path) {
    if (Double.isNaN(expected) || Double.isInfinite(expected)) {
      assertEquals(expected, actual, path);
      return;
    }
    double tol = Math.max(ABS_TOL, REL_TOL * Math.abs(expected));
    if (Math.abs(expected - actual) > tol) {
      fail(path + ": expected " + expected + " but got " + actual);
    }
  }

  // ---------------------------------------------------------------- inputs

  static List<ActivationRecord> records(JsonNode n) {
    return Json.activationRecords(n);
  }

  static TokenCounter counter(JsonNode inputs) {
    JsonNode c = inputs.get("token_counter");
    if (c == null || c.asText().equals("standin:r50k_base")) {
      return TokenCounter.r50kBase();
    }
    if (c.asText().contains("cl100k")) {
      return TokenCounter.cl100kBase();
    }
    throw new IllegalArgumentException("Unknown token counter " + c);
  }

  static List<Integer> ints(JsonNode n) {
    List<Integer> out = new ArrayList<>();
    n.forEach(x -> out.add(x.intValue()));
    return out;
  }

  // ---------------------------------------------------------------- fake client

  /**
   * Serves the recorded responses (in call order, or matched on the request) and records the
   * requests.
   */
  static final class FakeClient implements LlmClient {
    private final List<JsonNode> exchanges = new ArrayList<>();
    private final boolean matchOnRequest;
    final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    FakeClient(JsonNode exchanges, boolean matchOnRequest) {
      if (exchanges != null) {
        exchanges.forEach(this.exchanges::add);
      }
      this.matchOnRequest = matchOnRequest;
    }

    @Override
    public CompletableFuture<JsonNode> generate(ApiRequest request) {
      JsonNode recorded = requestJson(request);
      requests.add(recorded);
      if (matchOnRequest) {
        for (JsonNode e : exchanges) {
          if (matches(withoutTimeout(e.get("request")), withoutTimeout(recorded))) {
            return CompletableFuture.completedFuture(e.get("response"));
          }
        }
        return CompletableFuture.failedFuture(
            new AssertionError("Unexpected request " + abbreviate(recorded.toString())));
      }
      int i = next.getAndIncrement();
      if (i >= exchanges.size()) {
        return CompletableFuture.failedFuture(
            new AssertionError("More requests than recorded exchanges"));
      }
      return CompletableFuture.completedFuture(exchanges.get(i).get("response"));
    }

    private static JsonNode withoutTimeout(JsonNode request) {
      ObjectNode copy = request.deepCopy();
      copy.remove("timeout");
      return copy;
    }

    /** The request as the goldens record it: the body, then {@code timeout} in seconds when set. */
    static JsonNode requestJson(ApiRequest request) {
      ObjectNode o = request.body().deepCopy();
      if (request.timeout() != null) {
        o.put("timeout", request.timeout().toSeconds());
      }
      return o;
    }

    /** Compares the recorded requests with the goldens' (key order of the body included). */
    void assertRequests(JsonNode expectedExchanges, boolean anyOrder) {
      assertEquals(expectedExchanges.size(), requests.size(), "number of requests");
      List<JsonNode> expected = new ArrayList<>();
      expectedExchanges.forEach(e -> expected.add(e.get("request")));
      if (anyOrder) {
        List<JsonNode> remaining = new ArrayList<>(expected);
        for (JsonNode r : requests) {
          JsonNode match =
              remaining.stream()
                  .filter(e -> matches(e, r))
                  .findFirst()
                  .orElseThrow(
                      () -> new AssertionError("Unexpected request " + abbreviate(r.toString())));
          remaining.remove(match);
        }
        return;
      }
      for (int i = 0; i < expected.size(); i++) {
        assertMatches(expected.get(i), requests.get(i), "request[" + i + "]");
        assertEquals(keys(expected.get(i)), keys(requests.get(i)), "request[" + i + "] key order");
      }
    }

    private static List<String> keys(JsonNode n) {
      List<String> out = new ArrayList<>();
      Iterator<String> it = n.fieldNames();
      it.forEachRemaining(out::add);
      return out;
    }
  }
}
