package io.github.neuronexplainer.explanations;

import static io.github.neuronexplainer.explanations.ConformanceSupport.assertMatches;
import static io.github.neuronexplainer.explanations.ConformanceSupport.toJson;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.simulator.ExplanationNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.ExplanationTokenByTokenSimulator;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The six prompt tests of upstream {@code test_explainer.py} / {@code test_simulator.py}, from
 * upstream_tests.json.
 */
class UpstreamPromptTest {
  static Prompt prompt(String test) {
    List<String> tokens = List.of("0", "1", "2");
    PromptFormat format =
        test.contains("if_format")
            ? PromptFormat.INSTRUCTION_FOLLOWING
            : test.contains("chat_format") ? PromptFormat.CHAT_MESSAGES : null;
    return switch (test) {
      case "test_if_formatting", "test_chat_format" ->
          TokenActivationPairExplainer.builder()
              .promptFormat(
                  test.equals("test_if_formatting")
                      ? PromptFormat.INSTRUCTION_FOLLOWING
                      : PromptFormat.CHAT_MESSAGES)
              .fewShotExampleSet(FewShotExampleSet.TEST)
              .build()
              .makeExplanationPrompt(
                  FewShotExampleSet.TEST.getExamples().get(0).activationRecords(), 20, null);
      case "test_make_explanation_simulation_prompt_if_format",
          "test_make_explanation_simulation_prompt_chat_format" ->
          new ExplanationNeuronSimulator(null, "EXPLANATION", FewShotExampleSet.TEST, format)
              .makeSimulationPrompt(tokens);
      default ->
          new ExplanationTokenByTokenSimulator(null, "EXPLANATION", FewShotExampleSet.TEST, format)
              .makeSingleTokenSimulationPrompt(tokens, "numbers and nothing else", 1);
    };
  }

  @TestFactory
  Stream<DynamicTest> upstreamPromptTests() {
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode t : ConformanceSupport.load("upstream_tests.json")) {
      String name = t.get("test").asText();
      tests.add(
          DynamicTest.dynamicTest(
              t.get("file").asText() + "::" + name,
              () -> assertMatches(t.get("expected_prompt"), toJson(prompt(name)), "$")));
    }
    return tests.stream();
  }
}
