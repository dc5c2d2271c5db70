package io.github.neuronexplainer.explanations.fewshot;

import java.util.List;

/**
 * A token sequence with the {@code [from, to]} pairs to highlight. Immutable.
 *
 * @param tokens the sequence
 * @param tokenPairCoordinates the highlighted pairs, each {@code [from, to]}
 */
public record AttentionTokenPairExample(List<String> tokens, List<int[]> tokenPairCoordinates) {
    public AttentionTokenPairExample {
        tokens = List.copyOf(tokens);
        tokenPairCoordinates = tokenPairCoordinates.stream().map(int[]::clone).toList();
    }
}
