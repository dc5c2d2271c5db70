package io.github.neuronexplainer.core.report;

import java.util.Locale;

/** HTML text escaping and number formatting for {@link HtmlReport}. Stateless. */
final class Html {
  private Html() {}

  /**
   * {@code text} safe inside element content and quoted attribute values: {@code & < > " '}
   * escaped, control characters other than tab and newline replaced by U+FFFD.
   */
  static String escape(String text) {
    StringBuilder sb = new StringBuilder(text.length() + 16);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c < 0x20 && c != '\t' && c != '\n' || c == 0x7f ? '\uFFFD' : c);
      }
    }
    return sb.toString();
  }

  /** A value as shown to the reader: 4 significant digits. */
  static String shown(double value) {
    if (!Double.isFinite(value)) {
      return Double.toString(value);
    }
    return String.format(Locale.ROOT, "%.4g", value);
  }

  /**
   * A value as stored in {@code data-value}: exactly, and in the shortest form that reads back as
   * the same float when it is one ({@code 0.1f} is {@code "0.1"}, not {@code
   * "0.10000000149011612"}).
   */
  static String exact(double value) {
    float f = (float) value;
    return f == value ? Float.toString(f) : Double.toString(value);
  }

  /**
   * A background colour for {@code value} on a scale where {@code maxAbs} is full intensity: red
   * for positive, blue for negative, grey for NaN.
   */
  static String color(double value, double maxAbs) {
    if (!Double.isFinite(value)) {
      return "rgb(200,200,200)";
    }
    double a = maxAbs > 0 ? Math.min(1.0, Math.abs(value) / maxAbs) : 0.0;
    return value >= 0
        ? String.format(Locale.ROOT, "rgba(220,38,38,%.3f)", a)
        : String.format(Locale.ROOT, "rgba(37,99,235,%.3f)", a);
  }
}
