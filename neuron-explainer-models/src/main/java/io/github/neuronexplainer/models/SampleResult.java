package io.github.neuronexplainer.models;

import java.util.List;

/** Sampled continuations: per prompt, the new tokens and their decoded text. Immutable. */
public record SampleResult(List<int[]> tokens, List<String> strings) {
  public SampleResult {
    tokens = tokens.stream().map(int[]::clone).toList();
    strings = List.copyOf(strings);
  }
}
