package io.github.neuronexplainer.explanations.fewshot;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A token sequence with the {@code [from, to]} pairs to highlight.
 *
 * <p>Immutable and thread-safe: the pair arrays are copied in and out. Equality compares them by
 * content; {@link #toString()} prints them as lists.
 *
 * @param tokens the sequence
 * @param tokenPairCoordinates the highlighted pairs, each {@code [from, to]}
 */
public record AttentionTokenPairExample(List<String> tokens, List<int[]> tokenPairCoordinates) {
  public AttentionTokenPairExample {
    tokens = List.copyOf(tokens);
    tokenPairCoordinates = tokenPairCoordinates.stream().map(int[]::clone).toList();
  }

  /** A copy of the highlighted pairs. */
  @Override
  public List<int[]> tokenPairCoordinates() {
    return tokenPairCoordinates.stream().map(int[]::clone).toList();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof AttentionTokenPairExample other
        && tokens.equals(other.tokens)
        && tokenPairCoordinates.size() == other.tokenPairCoordinates.size()
        && IntStream.range(0, tokenPairCoordinates.size())
            .allMatch(
                i -> Arrays.equals(tokenPairCoordinates.get(i), other.tokenPairCoordinates.get(i)));
  }

  @Override
  public int hashCode() {
    int h = tokens.hashCode();
    for (int[] pair : tokenPairCoordinates) {
      h = 31 * h + Arrays.hashCode(pair);
    }
    return h;
  }

  @Override
  public String toString() {
    return "AttentionTokenPairExample[tokens="
        + tokens
        + ", tokenPairCoordinates="
        + tokenPairCoordinates.stream()
            .map(Arrays::toString)
            .collect(Collectors.joining(", ", "[", "]"))
        + "]";
  }
}
