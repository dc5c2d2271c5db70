package io.github.neuronexplainer.core.io;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Resolves names that come from outside (URL paths, weight file names, cache keys) to files inside
 * a root folder, refusing anything that could land elsewhere: absolute paths, drive letters,
 * backslashes, NUL and other control characters, and empty, {@code .} or {@code ..} segments, also
 * when percent-encoded ({@code %2e%2e}, {@code %2f}, {@code %5c}). Every file the library writes
 * goes through {@link #resolveInside}.
 *
 * <p>Stateless and thread-safe.
 */
public final class SafePaths {
  private SafePaths() {}

  /**
   * {@code root/relative}, normalized, after checking {@code relative} (see the class comment).
   *
   * @param root the folder the result must stay in
   * @param relative a relative path with {@code /} separators
   * @param what what the name is, for the error message (e.g. "weight file")
   * @throws IllegalArgumentException if {@code relative} is not a plain relative path
   */
  public static Path resolveInside(Path root, String relative, String what) {
    String[] segments = checkRelative(relative, what);
    Path base = root.toAbsolutePath().normalize();
    Path result = base;
    for (String segment : segments) {
      result = result.resolve(segment);
    }
    result = result.normalize();
    if (!result.startsWith(base) || result.equals(base)) {
      throw refused(relative, what, "it resolves outside " + base);
    }
    return result;
  }

  /**
   * The segments of {@code relative} after checking it is a plain relative path (see the class
   * comment).
   *
   * @throws IllegalArgumentException if it is not
   */
  public static String[] checkRelative(String relative, String what) {
    if (relative == null || relative.isEmpty()) {
      throw refused(relative, what, "it is empty");
    }
    if (relative.startsWith("/") || relative.matches("(?s)^[A-Za-z]:.*")) {
      throw refused(relative, what, "it is absolute");
    }
    String[] segments = relative.split("/", -1);
    for (String segment : segments) {
      checkSegment(relative, segment, what);
      String decoded = percentDecoded(relative, segment, what);
      if (!decoded.equals(segment)) {
        if (decoded.contains("/")) {
          throw refused(relative, what, "it contains an encoded '/'");
        }
        checkSegment(relative, decoded, what);
      }
    }
    return segments;
  }

  private static void checkSegment(String relative, String segment, String what) {
    if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
      throw refused(relative, what, "it has an empty, '.' or '..' segment");
    }
    for (int i = 0; i < segment.length(); i++) {
      char c = segment.charAt(i);
      if (c == '\\') {
        throw refused(relative, what, "it contains a backslash");
      }
      if (c < 0x20 || c == 0x7f) {
        throw refused(
            relative,
            what,
            "it contains a control character (U+"
                + String.format(Locale.ROOT, "%04X", (int) c)
                + ")");
      }
    }
  }

  private static String percentDecoded(String relative, String segment, String what) {
    if (segment.indexOf('%') < 0) {
      return segment;
    }
    try {
      return URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw refused(relative, what, "it has a malformed percent escape");
    }
  }

  private static IllegalArgumentException refused(String relative, String what, String why) {
    String shown = relative == null ? "null" : relative.replace("\0", "\\0");
    return new IllegalArgumentException(
        "Refusing "
            + what
            + " '"
            + shown
            + "': "
            + why
            + "; use a relative path of plain '/'-separated names");
  }
}
