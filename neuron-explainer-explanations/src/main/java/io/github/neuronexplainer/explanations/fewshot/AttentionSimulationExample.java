package io.github.neuronexplainer.explanations.fewshot;

/**
 * A labelled token pair used by the attention scorer's few-shot prompt. Immutable.
 *
 * @param tokenPairExampleIndex which token-pair example of the head supplies the tokens
 * @param from the "from" token index
 * @param to the "to" token index
 * @param label 1 if the head activates for the pair, else 0
 */
public record AttentionSimulationExample(int tokenPairExampleIndex, int from, int to, int label) {}
