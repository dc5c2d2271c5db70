package io.github.neuronexplainer.explanations;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.github.neuronexplainer.core.records.ActivationRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * Shared Jackson setup (order-preserving objects, NaN/Infinity literals accepted) and conversions
 * from JSON trees that keep the int/float distinction. Thread-safe.
 */
public final class Json {
  /** The mapper used throughout this module. */
  public static final ObjectMapper MAPPER =
      JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private Json() {}

  /** Parses JSON text. */
  public static JsonNode parse(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("Invalid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Compact JSON text of a tree. */
  public static String write(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * A number: JSON ints become {@link Long}, floats {@link Double}; "NaN"/"Infinity" strings are
   * floats.
   */
  public static Number number(JsonNode n) {
    if (n.isIntegralNumber()) {
      return n.longValue();
    }
    if (n.isNumber()) {
      return n.doubleValue();
    }
    if (n.isTextual()) {
      return Double.parseDouble(n.textValue());
    }
    if (n.isNull()) {
      return Double.NaN;
    }
    throw new IllegalArgumentException("Expected a number but got " + n);
  }

  /** A list of numbers (see {@link #number}). */
  public static List<Number> numbers(JsonNode array) {
    List<Number> out = new ArrayList<>();
    array.forEach(n -> out.add(number(n)));
    return out;
  }

  /** A list of doubles. */
  public static List<Double> doubles(JsonNode array) {
    List<Double> out = new ArrayList<>();
    array.forEach(n -> out.add(number(n).doubleValue()));
    return out;
  }

  /** A list of strings. */
  public static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.textValue()));
    return out;
  }

  /** {@code {"tokens": [...], "activations": [...]}} as a record. */
  public static ActivationRecord activationRecord(JsonNode n) {
    return new ActivationRecord(numbers(n.get("activations")), strings(n.get("tokens")));
  }

  /** A list of activation records. */
  public static List<ActivationRecord> activationRecords(JsonNode array) {
    List<ActivationRecord> out = new ArrayList<>();
    array.forEach(n -> out.add(activationRecord(n)));
    return out;
  }
}
