package io.github.neuronexplainer.explanations.fewshot;

import java.util.List;

/**
 * A few-shot attention head: token-pair examples, an explanation and optional scorer examples.
 * Immutable.
 *
 * @param tokenPairExamples the examples shown to the explainer
 * @param explanation the head's explanation
 * @param simulationExamples labelled pairs for the scorer (empty when none)
 */
public record AttentionHeadFewShotExample(
    List<AttentionTokenPairExample> tokenPairExamples,
    String explanation,
    List<AttentionSimulationExample> simulationExamples) {
  public AttentionHeadFewShotExample {
    tokenPairExamples = List.copyOf(tokenPairExamples);
    simulationExamples = List.copyOf(simulationExamples);
  }
}
