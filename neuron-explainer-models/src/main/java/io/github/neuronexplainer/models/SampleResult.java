package io.github.neuronexplainer.models;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Sampled continuations: per prompt, the new tokens and their decoded text.
 *
 * <p>Immutable and thread-safe: the token arrays are copied in and out. Equality compares the token
 * arrays by content; {@link #toString()} prints them as lists.
 */
public record SampleResult(List<int[]> tokens, List<String> strings) {
  public SampleResult {
    tokens = tokens.stream().map(int[]::clone).toList();
    strings = List.copyOf(strings);
  }

  /** Per prompt, a copy of its new tokens. */
  @Override
  public List<int[]> tokens() {
    return tokens.stream().map(int[]::clone).toList();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SampleResult other
        && strings.equals(other.strings)
        && tokens.size() == other.tokens.size()
        && IntStream.range(0, tokens.size())
            .allMatch(i -> Arrays.equals(tokens.get(i), other.tokens.get(i)));
  }

  @Override
  public int hashCode() {
    int h = strings.hashCode();
    for (int[] t : tokens) {
      h = 31 * h + Arrays.hashCode(t);
    }
    return h;
  }

  /** {@code SampleResult[tokens=[[27352, 27352]], strings=["RoamingRoaming"]]}. */
  @Override
  public String toString() {
    return "SampleResult[tokens="
        + tokens.stream().map(Arrays::toString).collect(Collectors.joining(", ", "[", "]"))
        + ", strings="
        + strings.stream().map(SampleResult::quote).collect(Collectors.joining(", ", "[", "]"))
        + "]";
  }

  /** Java-style quoting, so that leading spaces and control characters show. */
  private static String quote(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
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
    return sb.append('"').toString();
  }
}
