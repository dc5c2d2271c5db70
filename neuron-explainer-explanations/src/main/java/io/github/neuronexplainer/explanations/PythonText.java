package io.github.neuronexplainer.explanations;

/**
 * Python string semantics the prompts depend on: {@code str.isspace}-based {@code strip}/{@code
 * lstrip} (Java's {@code strip} keeps U+0085, U+00A0, U+2007 and U+202F) and code-point lengths.
 * Stateless.
 */
public final class PythonText {
  private PythonText() {}

  /** Python {@code str.isspace()} for one code point. */
  public static boolean isSpace(int cp) {
    return (cp >= 0x09 && cp <= 0x0D)
        || (cp >= 0x1C && cp <= 0x20)
        || cp == 0x85
        || cp == 0xA0
        || cp == 0x1680
        || (cp >= 0x2000 && cp <= 0x200A)
        || cp == 0x2028
        || cp == 0x2029
        || cp == 0x202F
        || cp == 0x205F
        || cp == 0x3000;
  }

  /** Python {@code s.strip()}. */
  public static String strip(String s) {
    return rstrip(lstrip(s));
  }

  /** Python {@code s.lstrip()}. */
  public static String lstrip(String s) {
    int i = 0;
    while (i < s.length()) {
      int cp = s.codePointAt(i);
      if (!isSpace(cp)) {
        break;
      }
      i += Character.charCount(cp);
    }
    return s.substring(i);
  }

  /** Python {@code s.rstrip()}. */
  public static String rstrip(String s) {
    int end = s.length();
    while (end > 0) {
      int cp = s.codePointBefore(end);
      if (!isSpace(cp)) {
        break;
      }
      end -= Character.charCount(cp);
    }
    return s.substring(0, end);
  }

  /** Python {@code len(s)}: code points. */
  public static int length(String s) {
    return s.codePointCount(0, s.length());
  }
}
