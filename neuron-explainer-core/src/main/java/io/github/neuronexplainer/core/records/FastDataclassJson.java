package io.github.neuronexplainer.core.records;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JSON in the original's {@code fast_dataclasses} format.
 *
 * <p>{@link #dumps} writes what orjson writes: compact, fields in declaration order with {@code
 * "dataclass_name"} last, non-ASCII unescaped, NaN/±Infinity as {@code null}, shortest round-trip
 * floats (ryu), ints as ints. {@link #loads} follows {@code fast_dataclasses.loads}: {@code
 * dataclass_name} selects the class (legacy class names included); without it, and when {@code
 * backwardsCompatible}, the class with exactly that field set, else the first registered class
 * whose fields are a superset; legacy field renames and deletions are applied. Plain JSON values
 * become {@link LinkedHashMap}, {@link List}, {@link String}, {@link Long}, {@link Double}, {@link
 * Boolean} or {@code null}. Stateless and thread-safe.
 */
public final class FastDataclassJson {
  private static final Logger LOG = LoggerFactory.getLogger(FastDataclassJson.class);
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  /** Thrown when JSON does not fit a dataclass (the original raises TypeError/AssertionError). */
  public static final class DataclassFormatException extends IllegalArgumentException {
    public DataclassFormatException(String message) {
      super(message);
    }
  }

  private record Spec(
      String name,
      List<String> fields,
      Set<String> required,
      Map<String, String> renames,
      Set<String> deleted,
      Function<Map<String, Object>, Object> factory) {}

  /** Registration order matters for the superset inference. */
  private static final List<Spec> SPECS =
      List.of(
          new Spec(
              "ActivationRecord",
              List.of("activations", "tokens"),
              Set.of("activations", "tokens"),
              Map.of(),
              Set.of(),
              m -> new ActivationRecord(numbers(m, "activations"), strings(m, "tokens"))),
          new Spec(
              "NeuronId",
              List.of("neuron_index", "layer_index"),
              Set.of("neuron_index", "layer_index"),
              Map.of("idx", "neuron_index", "layer", "layer_index"),
              Set.of(),
              m -> new NeuronId(integer(m, "neuron_index"), integer(m, "layer_index"))),
          new Spec(
              "NeuronRecord",
              List.of(
                  "neuron_id",
                  "random_sample",
                  "random_sample_by_quantile",
                  "quantile_boundaries",
                  "mean",
                  "variance",
                  "skewness",
                  "kurtosis",
                  "most_positive_activation_records"),
              Set.of("neuron_id"),
              Map.of(),
              Set.of(),
              m ->
                  new NeuronRecord(
                      typed(m, "neuron_id", NeuronId.class),
                      m.containsKey("random_sample")
                          ? list(m, "random_sample", ActivationRecord.class)
                          : List.of(),
                      m.get("random_sample_by_quantile") == null
                          ? null
                          : nestedRecords(m, "random_sample_by_quantile"),
                      m.get("quantile_boundaries") == null
                          ? null
                          : doubles(m.get("quantile_boundaries"), "quantile_boundaries"),
                      m.containsKey("mean") ? nullableDouble(m, "mean") : (Double) Double.NaN,
                      m.containsKey("variance")
                          ? nullableDouble(m, "variance")
                          : (Double) Double.NaN,
                      m.containsKey("skewness")
                          ? nullableDouble(m, "skewness")
                          : (Double) Double.NaN,
                      m.containsKey("kurtosis")
                          ? nullableDouble(m, "kurtosis")
                          : (Double) Double.NaN,
                      m.containsKey("most_positive_activation_records")
                          ? list(m, "most_positive_activation_records", ActivationRecord.class)
                          : List.of())),
          new Spec(
              "SequenceSimulation",
              List.of(
                  "tokens",
                  "expected_activations",
                  "activation_scale",
                  "distribution_values",
                  "distribution_probabilities",
                  "uncalibrated_simulation"),
              Set.of(
                  "tokens",
                  "expected_activations",
                  "activation_scale",
                  "distribution_values",
                  "distribution_probabilities"),
              Map.of("unit", "activation_scale"),
              Set.of("response"),
              m ->
                  new SequenceSimulation(
                      strings(m, "tokens"),
                      numbers(m, "expected_activations"),
                      ActivationScale.fromValue(string(m, "activation_scale")),
                      doubleLists(m, "distribution_values"),
                      doubleLists(m, "distribution_probabilities"),
                      m.get("uncalibrated_simulation") == null
                          ? null
                          : typed(m, "uncalibrated_simulation", SequenceSimulation.class))),
          new Spec(
              "ScoredSequenceSimulation",
              List.of(
                  "sequence_simulation",
                  "true_activations",
                  "ev_correlation_score",
                  "rsquared_score",
                  "absolute_dev_explained_score"),
              Set.of("sequence_simulation", "true_activations", "ev_correlation_score"),
              Map.of("simulation", "sequence_simulation"),
              Set.of(),
              m ->
                  new ScoredSequenceSimulation(
                      typed(m, "sequence_simulation", SequenceSimulation.class),
                      m.get("true_activations") == null ? null : numbers(m, "true_activations"),
                      nullableDouble(m, "ev_correlation_score"),
                      nullableDouble(m, "rsquared_score"),
                      nullableDouble(m, "absolute_dev_explained_score"))),
          new Spec(
              "ScoredSimulation",
              List.of(
                  "scored_sequence_simulations",
                  "ev_correlation_score",
                  "rsquared_score",
                  "absolute_dev_explained_score"),
              Set.of("scored_sequence_simulations"),
              Map.of(),
              Set.of(),
              m ->
                  new ScoredSimulation(
                      list(m, "scored_sequence_simulations", ScoredSequenceSimulation.class),
                      nullableDouble(m, "ev_correlation_score"),
                      nullableDouble(m, "rsquared_score"),
                      nullableDouble(m, "absolute_dev_explained_score"))),
          new Spec(
              "ScoredExplanation",
              List.of("explanation", "scored_simulation"),
              Set.of("explanation", "scored_simulation"),
              Map.of("explanation_or_baseline", "explanation"),
              Set.of(),
              m ->
                  new ScoredExplanation(
                      string(m, "explanation"),
                      typed(m, "scored_simulation", ScoredSimulation.class))),
          new Spec(
              "NeuronSimulationResults",
              List.of("neuron_id", "scored_explanations"),
              Set.of("neuron_id", "scored_explanations"),
              Map.of("scored_explanation_or_baseline_list", "scored_explanations"),
              Set.of(),
              m ->
                  new NeuronSimulationResults(
                      typed(m, "neuron_id", NeuronId.class),
                      list(m, "scored_explanations", ScoredExplanation.class))),
          new Spec(
              "AttentionSimulation",
              List.of("tokens", "token_pair_coords", "token_pair_label", "simulation_prediction"),
              Set.of("tokens", "token_pair_coords", "token_pair_label", "simulation_prediction"),
              Map.of(),
              Set.of(),
              m ->
                  new AttentionSimulation(
                      strings(m, "tokens"),
                      numbers(m, "token_pair_coords").stream().map(Number::intValue).toList(),
                      integer(m, "token_pair_label"),
                      number(m, "simulation_prediction").doubleValue())),
          new Spec(
              "ScoredAttentionSimulation",
              List.of("attention_simulations", "roc_auc_score"),
              Set.of("attention_simulations"),
              Map.of(),
              Set.of(),
              m ->
                  new ScoredAttentionSimulation(
                      list(m, "attention_simulations", AttentionSimulation.class),
                      nullableDouble(m, "roc_auc_score"))),
          new Spec(
              "ScoredAttentionExplanation",
              List.of("explanation", "scored_attention_simulation"),
              Set.of("explanation", "scored_attention_simulation"),
              Map.of(),
              Set.of(),
              m ->
                  new ScoredAttentionExplanation(
                      string(m, "explanation"),
                      typed(m, "scored_attention_simulation", ScoredAttentionSimulation.class))),
          new Spec(
              "AttentionSimulationResults",
              List.of("attention_head_id", "scored_explanations"),
              Set.of("attention_head_id", "scored_explanations"),
              Map.of("attention_id", "attention_head_id"),
              Set.of(),
              m ->
                  new AttentionSimulationResults(
                      typed(m, "attention_head_id", NeuronId.class),
                      list(m, "scored_explanations", ScoredAttentionExplanation.class))));

  private static final Map<String, Spec> BY_NAME = new LinkedHashMap<>();

  static {
    for (Spec s : SPECS) {
      BY_NAME.put(s.name(), s);
      if (s.name().equals("ScoredExplanation")) {
        BY_NAME.put("ScoredExplanationOrBaseline", s);
      }
    }
  }

  private FastDataclassJson() {}

  /** The registered class names (current and legacy) in registration order. */
  public static List<String> registeredNames() {
    return List.copyOf(BY_NAME.keySet());
  }

  // ------------------------------------------------------------------ writing

  /**
   * Serialises like {@code fast_dataclasses.dumps} (orjson), returned as text (encode as UTF-8).
   */
  public static String dumps(Object value) {
    StringBuilder sb = new StringBuilder();
    write(value, sb);
    return sb.toString();
  }

  /** {@link #dumps} as UTF-8 bytes. */
  public static byte[] dumpsBytes(Object value) {
    return dumps(value).getBytes(StandardCharsets.UTF_8);
  }

  private static void write(Object value, StringBuilder sb) {
    if (value == null) {
      sb.append("null");
    } else if (value instanceof FastDataclass dc) {
      sb.append('{');
      for (Map.Entry<String, Object> e : dc.fields().entrySet()) {
        writeString(e.getKey(), sb);
        sb.append(':');
        write(e.getValue(), sb);
        sb.append(',');
      }
      sb.append("\"dataclass_name\":");
      writeString(dc.dataclassName(), sb);
      sb.append('}');
    } else if (value instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(String.valueOf(e.getKey()), sb);
        sb.append(':');
        write(e.getValue(), sb);
      }
      sb.append('}');
    } else if (value instanceof Collection<?> list) {
      sb.append('[');
      boolean first = true;
      for (Object o : list) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        write(o, sb);
      }
      sb.append(']');
    } else if (value instanceof String s) {
      writeString(s, sb);
    } else if (value instanceof Double || value instanceof Float) {
      sb.append(FloatFormat.orjson(((Number) value).doubleValue()));
    } else if (value instanceof Number n) {
      sb.append(n.toString());
    } else if (value instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (value instanceof ActivationScale scale) {
      writeString(scale.value(), sb);
    } else if (value instanceof double[] arr) {
      List<Double> boxed = new ArrayList<>();
      for (double d : arr) {
        boxed.add(d);
      }
      write(boxed, sb);
    } else {
      throw new IllegalArgumentException(
          "Cannot serialise "
              + value.getClass().getName()
              + "; use records, maps, lists, strings, numbers or booleans");
    }
  }

  private static void writeString(String s, StringBuilder sb) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\b' -> sb.append("\\b");
        case '\t' -> sb.append("\\t");
        case '\n' -> sb.append("\\n");
        case '\f' -> sb.append("\\f");
        case '\r' -> sb.append("\\r");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  // ------------------------------------------------------------------ reading

  /** {@code fast_dataclasses.loads(text, backwards_compatible=True)}. */
  public static Object loads(String text) {
    return loads(text, true);
  }

  /**
   * {@code fast_dataclasses.loads}.
   *
   * @throws DataclassFormatException when an object names an unknown class (strict mode) or does
   *     not fit its class
   * @throws IllegalArgumentException when the text is not JSON
   */
  public static Object loads(String text, boolean backwardsCompatible) {
    try (JsonParser p = JSON.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IllegalArgumentException("Empty JSON text");
      }
      Object v = parse(p, t, backwardsCompatible);
      if (p.nextToken() != null) {
        throw new IllegalArgumentException(
            "Extra data after the JSON value at " + p.currentLocation());
      }
      return v;
    } catch (IOException e) {
      throw new IllegalArgumentException("Invalid JSON: " + e.getMessage(), e);
    }
  }

  /** Loads {@code text} and checks that it is a {@code type}. */
  public static <T> T loads(String text, Class<T> type) {
    Object v = loads(text, true);
    if (!type.isInstance(v)) {
      throw new DataclassFormatException(
          "Stored data incompatible with current version of "
              + type.getSimpleName()
              + " dataclass (got "
              + pythonTypeName(v)
              + ")");
    }
    return type.cast(v);
  }

  /**
   * Python type name of a loaded value: class name, {@code dict}, {@code list}, {@code int}, ...
   */
  public static String pythonTypeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof FastDataclass dc) {
      return dc.dataclassName();
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof List) {
      return "list";
    }
    if (v instanceof String) {
      return "str";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Double) {
      return "float";
    }
    return "int";
  }

  private static Object parse(JsonParser p, JsonToken t, boolean bc) throws IOException {
    switch (t) {
      case START_OBJECT -> {
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          m.put(key, parse(p, p.nextToken(), bc));
        }
        return objectHook(m, bc);
      }
      case START_ARRAY -> {
        List<Object> list = new ArrayList<>();
        JsonToken n;
        while ((n = p.nextToken()) != JsonToken.END_ARRAY) {
          list.add(parse(p, n, bc));
        }
        return list;
      }
      case VALUE_STRING -> {
        return p.getText();
      }
      case VALUE_NUMBER_INT -> {
        BigInteger big = p.getBigIntegerValue();
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
      }
      case VALUE_NUMBER_FLOAT -> {
        return p.getDoubleValue();
      }
      case VALUE_TRUE -> {
        return Boolean.TRUE;
      }
      case VALUE_FALSE -> {
        return Boolean.FALSE;
      }
      case VALUE_NULL -> {
        return null;
      }
      default -> throw new IllegalArgumentException("Unexpected JSON token " + t);
    }
  }

  /** {@code _object_hook}: applied to every object, innermost first, and again to nested values. */
  private static Object objectHook(Object value, boolean bc) {
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (Object o : list) {
        out.add(objectHook(o, bc));
      }
      return out;
    }
    if (!(value instanceof Map<?, ?> raw)) {
      return value;
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> d = (Map<String, Object>) raw;
    Spec spec = null;
    if (d.containsKey("dataclass_name")) {
      Object name = d.get("dataclass_name");
      spec = BY_NAME.get(String.valueOf(name));
      if (spec == null && !bc) {
        throw new DataclassFormatException(
            "Dataclass "
                + name
                + " not found, set backwards_compatible=True if you are okay with that.");
      }
    } else if (bc) {
      spec = inferByFields(d.keySet());
    }
    LinkedHashMap<String, Object> fields = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : d.entrySet()) {
      String key = spec == null ? e.getKey() : spec.renames().getOrDefault(e.getKey(), e.getKey());
      if (key.equals("dataclass_name") || (spec != null && spec.deleted().contains(key))) {
        continue;
      }
      fields.put(key, objectHook(e.getValue(), bc));
    }
    return spec == null ? fields : construct(spec, fields);
  }

  private static Spec inferByFields(Set<String> keys) {
    for (Spec s : SPECS) {
      if (new LinkedHashSet<>(s.fields()).equals(keys)) {
        return s;
      }
    }
    if (!keys.isEmpty()) {
      for (Spec s : SPECS) {
        if (s.fields().containsAll(keys)) {
          return s;
        }
      }
      LOG.debug("Could not find dataclass for {}", new TreeSet<>(keys));
    }
    return null;
  }

  private static Object construct(Spec spec, Map<String, Object> fields) {
    for (String k : fields.keySet()) {
      if (!spec.fields().contains(k)) {
        throw new DataclassFormatException(
            spec.name() + ".__init__() got an unexpected keyword argument '" + k + "'");
      }
    }
    List<String> missing =
        spec.fields().stream()
            .filter(f -> spec.required().contains(f) && !fields.containsKey(f))
            .toList();
    if (!missing.isEmpty()) {
      throw new DataclassFormatException(
          spec.name()
              + ".__init__() missing "
              + missing.size()
              + " required positional argument"
              + (missing.size() > 1 ? "s" : "")
              + ": '"
              + String.join("', '", missing)
              + "'");
    }
    try {
      return spec.factory().apply(fields);
    } catch (ClassCastException | NullPointerException e) {
      throw new DataclassFormatException(
          "Fields of " + spec.name() + " have unexpected types: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ field conversion helpers

  private static String string(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (!(v instanceof String s)) {
      throw new DataclassFormatException(
          "Field '" + key + "' must be a string, got " + pythonTypeName(v));
    }
    return s;
  }

  private static Number number(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (!(v instanceof Number n)) {
      throw new DataclassFormatException(
          "Field '" + key + "' must be a number, got " + pythonTypeName(v));
    }
    return n;
  }

  private static int integer(Map<String, Object> m, String key) {
    Object v = m.get(key);
    if (v instanceof String s) {
      try {
        return Integer.parseInt(s.strip());
      } catch (NumberFormatException e) {
        throw new DataclassFormatException("Field '" + key + "' must be an int, got '" + s + "'");
      }
    }
    return number(m, key).intValue();
  }

  private static Double nullableDouble(Map<String, Object> m, String key) {
    Object v = m.get(key);
    return v == null ? null : number(m, key).doubleValue();
  }

  private static <T> T typed(Map<String, Object> m, String key, Class<T> type) {
    Object v = m.get(key);
    if (!type.isInstance(v)) {
      throw new DataclassFormatException(
          "Field '" + key + "' must be a " + type.getSimpleName() + ", got " + pythonTypeName(v));
    }
    return type.cast(v);
  }

  private static List<?> rawList(Object v, String key) {
    if (!(v instanceof List<?> l)) {
      throw new DataclassFormatException(
          "Field '" + key + "' must be a list, got " + pythonTypeName(v));
    }
    return l;
  }

  private static List<String> strings(Map<String, Object> m, String key) {
    List<String> out = new ArrayList<>();
    for (Object o : rawList(m.get(key), key)) {
      if (!(o instanceof String s)) {
        throw new DataclassFormatException(
            "Field '" + key + "' must hold strings, got " + pythonTypeName(o));
      }
      out.add(s);
    }
    return out;
  }

  private static List<Number> numbers(Map<String, Object> m, String key) {
    List<Number> out = new ArrayList<>();
    for (Object o : rawList(m.get(key), key)) {
      if (o == null) {
        out.add(Double.NaN);
      } else if (o instanceof Number n) {
        out.add(n);
      } else {
        throw new DataclassFormatException(
            "Field '" + key + "' must hold numbers, got " + pythonTypeName(o));
      }
    }
    return out;
  }

  private static List<Double> doubles(Object v, String key) {
    List<Double> out = new ArrayList<>();
    for (Object o : rawList(v, key)) {
      if (o == null) {
        out.add(Double.NaN);
      } else if (o instanceof Number n) {
        out.add(n.doubleValue());
      } else {
        throw new DataclassFormatException(
            "Field '" + key + "' must hold numbers, got " + pythonTypeName(o));
      }
    }
    return out;
  }

  private static List<List<Double>> doubleLists(Map<String, Object> m, String key) {
    List<List<Double>> out = new ArrayList<>();
    for (Object o : rawList(m.get(key), key)) {
      out.add(doubles(o, key));
    }
    return out;
  }

  private static <T> List<T> list(Map<String, Object> m, String key, Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Object o : rawList(m.get(key), key)) {
      if (!type.isInstance(o)) {
        throw new DataclassFormatException(
            "Field '"
                + key
                + "' must hold "
                + type.getSimpleName()
                + " objects, got "
                + pythonTypeName(o));
      }
      out.add(type.cast(o));
    }
    return out;
  }

  private static List<List<ActivationRecord>> nestedRecords(Map<String, Object> m, String key) {
    List<List<ActivationRecord>> out = new ArrayList<>();
    for (Object o : rawList(m.get(key), key)) {
      List<ActivationRecord> inner = new ArrayList<>();
      for (Object r : rawList(o, key)) {
        if (!(r instanceof ActivationRecord ar)) {
          throw new DataclassFormatException(
              "Field '" + key + "' must hold lists of ActivationRecord");
        }
        inner.add(ar);
      }
      out.add(inner);
    }
    return out;
  }
}
