package io.github.neuronexplainer.explanations;

import static io.github.neuronexplainer.explanations.ConformanceSupport.assertMatches;
import static io.github.neuronexplainer.explanations.ConformanceSupport.records;
import static io.github.neuronexplainer.explanations.ConformanceSupport.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.explanations.explainer.AttentionHeadExplainer;
import io.github.neuronexplainer.explanations.explainer.AttentionPairs;
import io.github.neuronexplainer.explanations.explainer.ContextSize;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.ChatMessage;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.TokenCounter;
import io.github.neuronexplainer.explanations.scoring.AttentionHeadOneAtATimeScorer;
import io.github.neuronexplainer.explanations.scoring.PythonRandom;
import io.github.neuronexplainer.explanations.simulator.ExplanationNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.ExplanationTokenByTokenSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code prompt_token_counts.json}: every prompt is rebuilt from its parameters with the real
 * cl100k_base counter (which also drives the explainers' shrinking) and must equal the golden
 * prompt and count.
 */
class PromptTokenCountsTest {
  static JsonNode root;

  static List<ActivationRecord> subjectRecords(String description) {
    List<ActivationRecord> variant =
        FewShotExampleSet.COLANGV2.getExamples().get(1).activationRecords();
    return switch (description) {
      case "COLANGV2[1].activation_records (both records)" -> variant;
      case "9 copies of COLANGV2[1].activation_records[0], then COLANGV2[1].activation_records[1]" -> {
        List<ActivationRecord> out = new ArrayList<>(Collections.nCopies(9, variant.get(0)));
        out.add(variant.get(1));
        yield out;
      }
      case "11 copies of COLANGV2[1].activation_records[0]" ->
          Collections.nCopies(11, variant.get(0));
      case "get_top_attention_coordinates.params.records" -> {
        for (JsonNode c : root) {
          if (c.get("name").asText().equals("get_top_attention_coordinates")) {
            yield records(c.get("params").get("records"));
          }
        }
        throw new IllegalStateException("no attention records");
      }
      default -> throw new IllegalArgumentException("Unknown record description " + description);
    };
  }

  static int length(Object prompt, TokenCounter counter) {
    if (prompt instanceof Prompt p && !p.isChat()) {
      return counter.count(p.text());
    }
    @SuppressWarnings("unchecked")
    List<ChatMessage> messages =
        prompt instanceof Prompt p ? p.messages() : (List<ChatMessage>) prompt;
    int total = 2;
    for (ChatMessage m : messages) {
      total += 4 + counter.count(m.content());
    }
    return total;
  }

  static Object build(JsonNode c) {
    JsonNode p = c.get("params");
    TokenCounter cl100k = TokenCounter.cl100kBase();
    PromptFormat format =
        p.has("prompt_format") ? PromptFormat.fromString(p.get("prompt_format").asText()) : null;
    List<String> tokens = p.has("tokens") ? Json.strings(p.get("tokens")) : null;
    FewShotExampleSet set =
        p.has("few_shot_example_set")
            ? FewShotExampleSet.fromString(p.get("few_shot_example_set").asText())
            : null;
    return switch (c.get("builder").asText()) {
      case "TokenActivationPairExplainer.make_explanation_prompt" ->
          TokenActivationPairExplainer.builder()
              .promptFormat(format)
              .contextSize(ContextSize.fromInt(p.get("context_size").intValue()))
              .fewShotExampleSet(set)
              .repeatNonZeroActivations(p.get("repeat_non_zero_activations").asBoolean())
              .tokenCounter(cl100k)
              .build()
              .makeExplanationPrompt(
                  subjectRecords(p.get("all_activations").asText()),
                  p.get("max_tokens_for_completion").intValue(),
                  p.get("numbered_list_of_n_explanations").isNull()
                      ? null
                      : p.get("numbered_list_of_n_explanations").intValue());
      case "ExplanationNeuronSimulator.make_simulation_prompt" ->
          new ExplanationNeuronSimulator(null, p.get("explanation").asText(), set, format)
              .makeSimulationPrompt(tokens);
      case "ExplanationTokenByTokenSimulator.make_single_token_simulation_prompt" ->
          new ExplanationTokenByTokenSimulator(null, p.get("explanation").asText(), set, format)
              .makeSingleTokenSimulationPrompt(
                  tokens, p.get("explanation").asText(), p.get("token_index_to_score").intValue());
      case "LogprobFreeExplanationTokenSimulator.make_simulation_prompt" ->
          new LogprobFreeExplanationTokenSimulator(null, p.get("explanation").asText(), set, format)
              .makeSimulationPrompt(tokens, p.get("explanation").asText());
      case "AttentionHeadExplainer.make_explanation_prompt" ->
          AttentionHeadExplainer.builder()
              .promptFormat(format)
              .repeatStronglyAttendingPairs(p.get("repeat_strongly_attending_pairs").asBoolean())
              .tokenCounter(cl100k)
              .build()
              .makeExplanationPrompt(
                  subjectRecords(p.get("all_activations").asText()),
                  p.get("max_tokens_for_completion").intValue(),
                  p.get("num_top_pairs_to_display").intValue());
      case "AttentionHeadOneAtATimeScorer.make_token_pair_prompt" ->
          new AttentionHeadOneAtATimeScorer(
                  null,
                  PromptFormat.CHAT_MESSAGES,
                  p.get("repeat_strongly_attending_pairs").asBoolean(),
                  new PythonRandom(0))
              .makeTokenPairPrompt(
                  p.get("explanation").asText(),
                  tokens,
                  p.get("coords").get(0).intValue(),
                  p.get("coords").get(1).intValue());
      case "TokenActivationPairExplainer.postprocess_explanations" ->
          TokenActivationPairExplainer.postprocessExplanations(
              Json.strings(p.get("completions")),
              p.get("numbered_list_of_n_explanations").intValue());
      case "get_top_attention_coordinates" -> {
        List<Object> out = new ArrayList<>();
        for (var pair :
            AttentionPairs.topAttentionCoordinates(
                records(p.get("records")), p.get("top_k").intValue())) {
          out.add(
              List.of(
                  (long) pair.recordIndex(),
                  pair.value(),
                  List.of((long) pair.from(), (long) pair.to())));
        }
        yield out;
      }
      default -> throw new IllegalArgumentException("Unknown builder " + c.get("builder"));
    };
  }

  @TestFactory
  Stream<DynamicTest> promptsRebuiltAndCountedWithRealCl100k() {
    root = ConformanceSupport.load("prompt_token_counts.json");
    List<DynamicTest> tests = new ArrayList<>();
    int[] passed = {0};
    for (JsonNode c : root) {
      tests.add(
          DynamicTest.dynamicTest(
              c.get("name").asText(),
              () -> {
                Object built = build(c);
                if (c.has("result")) {
                  assertMatches(c.get("result"), toJson(built), "$");
                } else {
                  assertMatches(c.get("prompt"), toJson(built), "$.prompt");
                  assertEquals(
                      c.get("prompt_length_in_tokens").intValue(),
                      length(built, TokenCounter.cl100kBase()));
                }
                if (++passed[0] == root.size()) {
                  System.out.printf(
                      "CONFORMANCE prompt_token_counts.json: %d passed, 0 failed, 0 skipped%n",
                      passed[0]);
                }
              }));
    }
    return tests.stream();
  }
}
