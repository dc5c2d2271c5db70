package io.github.neuronexplainer.explanations.simulator;

import io.github.neuronexplainer.core.records.FloatFormat;
import io.github.neuronexplainer.explanations.PythonText;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Python's {@code json.dumps} with default settings ({@code ", "} / {@code ": "} separators, {@code
 * ensure_ascii} with lower-case {@code \\uXXXX} escapes, float {@code repr}, ints as ints, NaN as
 * {@code NaN}) and Python's {@code float()} string parsing. Stateless.
 */
public final class PythonJson {
  private static final Pattern SPECIAL =
      Pattern.compile("[+-]?(inf|infinity|nan)", Pattern.CASE_INSENSITIVE);
  private static final Pattern DECIMAL =
      Pattern.compile(
          "[+-]?(\\d(_?\\d)*(\\.(\\d(_?\\d)*)?)?|\\.\\d(_?\\d)*)([eE][+-]?\\d(_?\\d)*)?");

  private PythonJson() {}

  /** {@code json.dumps(value)} for maps, lists, strings, numbers, booleans and null. */
  public static String dumps(Object value) {
    StringBuilder sb = new StringBuilder();
    write(value, sb);
    return sb.toString();
  }

  private static void write(Object v, StringBuilder sb) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      writeString(s, sb);
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      sb.append(
          Double.isNaN(d)
              ? "NaN"
              : Double.isInfinite(d)
                  ? (d > 0 ? "Infinity" : "-Infinity")
                  : FloatFormat.pythonRepr(d));
    } else if (v instanceof Number n) {
      sb.append(n);
    } else if (v instanceof Map<?, ?> m) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) {
          sb.append(", ");
        }
        first = false;
        writeString(String.valueOf(e.getKey()), sb);
        sb.append(": ");
        write(e.getValue(), sb);
      }
      sb.append('}');
    } else if (v instanceof List<?> l) {
      sb.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) {
          sb.append(", ");
        }
        write(l.get(i), sb);
      }
      sb.append(']');
    } else {
      throw new IllegalArgumentException(
          "Object of type " + v.getClass().getSimpleName() + " is not JSON serializable");
    }
  }

  private static void writeString(String s, StringBuilder sb) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20 || c > 0x7E) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  /**
   * Python {@code float(s)} for a string.
   *
   * @throws NumberFormatException where Python raises ValueError
   */
  public static double parseFloat(String s) {
    String t = PythonText.strip(s);
    if (SPECIAL.matcher(t).matches()) {
      boolean negative = t.startsWith("-");
      String lower = t.toLowerCase().replaceFirst("^[+-]", "");
      if (lower.equals("nan")) {
        return Double.NaN;
      }
      return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
    if (!DECIMAL.matcher(t).matches()) {
      throw new NumberFormatException("could not convert string to float: '" + s + "'");
    }
    return Double.parseDouble(t.replace("_", ""));
  }
}
