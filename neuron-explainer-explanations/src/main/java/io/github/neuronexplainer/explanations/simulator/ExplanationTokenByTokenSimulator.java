package io.github.neuronexplainer.explanations.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.ActivationRecords;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.fewshot.Example;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The "one at a time" simulator: one {@code /completions} request per token (all in flight at once,
 * bounded by the client), predicting the last token's activation from the top logprobs. Immutable
 * and thread-safe.
 */
public final class ExplanationTokenByTokenSimulator extends CompletionsSimulator {
  /**
   * @param fewShotExampleSet COLANGV2 or TEST (ORIGINAL has no single-token example)
   * @param promptFormat NONE or INSTRUCTION_FOLLOWING for {@link #simulate}
   */
  public ExplanationTokenByTokenSimulator(
      LlmClient client,
      String explanation,
      FewShotExampleSet fewShotExampleSet,
      PromptFormat promptFormat) {
    super(client, explanation, requireNotOriginal(fewShotExampleSet), promptFormat);
  }

  private static FewShotExampleSet requireNotOriginal(FewShotExampleSet fewShotExampleSet) {
    if (fewShotExampleSet == FewShotExampleSet.ORIGINAL) {
      throw new IllegalArgumentException(
          "This simulator doesn't support the ORIGINAL few-shot example set.");
    }
    return fewShotExampleSet;
  }

  @Override
  String chatMessagesRefusal() {
    // Upstream sends the message list as "prompt", which no endpoint accepts.
    return "The one-at-a-time simulator uses /completions; "
        + "use PromptFormat.NONE or INSTRUCTION_FOLLOWING";
  }

  @Override
  CompletableFuture<SequenceSimulation> startSimulation(List<String> tokens) {
    List<CompletableFuture<TokenPrediction>> futures = new ArrayList<>();
    for (int t = 0; t < tokens.size(); t++) {
      ObjectNode body = ApiRequest.newBody();
      body.put("prompt", makeSingleTokenSimulationPrompt(tokens, explanation, t).text());
      body.put("max_tokens", 1);
      body.put("echo", false);
      body.put("logprobs", 15);
      futures.add(
          client
              .generate(new ApiRequest(body, null))
              .thenApply(ExplanationTokenByTokenSimulator::prediction));
    }
    List<String> copy = List.copyOf(tokens);
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .thenApply(
            ignored -> {
              List<Number> expected = new ArrayList<>();
              List<List<Double>> values = new ArrayList<>();
              List<List<Double>> probabilities = new ArrayList<>();
              for (CompletableFuture<TokenPrediction> f : futures) {
                TokenPrediction p = f.join();
                expected.add(p.expectedValue());
                values.add(p.values());
                probabilities.add(p.probabilities());
              }
              return new SequenceSimulation(
                  copy,
                  expected,
                  ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
                  values,
                  probabilities,
                  null);
            });
  }

  private static TokenPrediction prediction(JsonNode response) {
    JsonNode top = response.path("choices").path(0).path("logprobs").path("top_logprobs").path(0);
    if (!top.isObject()) {
      throw new ApiException(
          "Response has no choices[0].logprobs.top_logprobs[0]; "
              + "the model must return logprobs on /completions",
          false,
          -1);
    }
    return Logprobs.computePredictedActivationStats(top);
  }

  /**
   * The prompt for predicting {@code tokens[tokenIndexToScore]}. Uses the {@code explanation}
   * argument (also for the few-shot single-token example), as upstream does.
   */
  public Prompt makeSingleTokenSimulationPrompt(
      List<String> tokens, String explanation, int tokenIndexToScore) {
    if (explanation.isEmpty()) {
      throw new IllegalArgumentException("explanation must not be empty");
    }
    PromptBuilder builder = new PromptBuilder(true);
    builder.addMessage(Role.SYSTEM, SimulatorPrompts.TOKEN_BY_TOKEN);
    List<Example> examples = fewShotExampleSet.getExamples();
    for (int i = 0; i < examples.size(); i++) {
      Example e = examples.get(i);
      int n = i + 1;
      builder.addMessage(
          Role.USER,
          "Neuron "
              + n
              + "\nExplanation of neuron "
              + n
              + " behavior: this neuron activates for "
              + e.explanation()
              + "\n");
      builder.addMessage(
          Role.ASSISTANT,
          "Activations: "
              + ActivationRecords.formatActivationRecords(
                  e.activationRecords(),
                  ActivationRecords.calculateMaxActivation(e.activationRecords()))
              + "\n\n");
    }
    builder.addMessage(Role.SYSTEM, SimulatorPrompts.TOKEN_BY_TOKEN_SECOND);
    Example single = fewShotExampleSet.getSingleTokenPredictionExample();
    addSubprompt(
        builder,
        single.activationRecords().get(0),
        examples.size() + 1,
        explanation,
        single.tokenIndexToScore(),
        false);
    List<Number> zeros = new ArrayList<>(Collections.nCopies(tokens.size(), (Number) 0.0));
    addSubprompt(
        builder,
        new ActivationRecord(
            zeros, tokens.subList(0, Math.min(tokens.size(), tokenIndexToScore + 1))),
        examples.size() + 2,
        explanation,
        tokenIndexToScore,
        true);
    return builder.build(promptFormat);
  }

  private static void addSubprompt(
      PromptBuilder builder,
      ActivationRecord record,
      int neuronIndex,
      String explanation,
      int tokenIndexToScore,
      boolean endOfPrompt) {
    int end = Math.min(record.tokens().size(), tokenIndexToScore + 1);
    List<String> trimmedTokens = record.tokens().subList(0, end);
    List<Number> trimmedActivations =
        record
            .activations()
            .subList(0, Math.min(record.activations().size(), tokenIndexToScore + 1));
    builder.addMessage(
        Role.USER,
        "\nNeuron "
            + neuronIndex
            + "\nExplanation of neuron "
            + neuronIndex
            + " behavior: this neuron activates for "
            + PythonText.strip(explanation)
            + "\nText:\n"
            + String.join("", trimmedTokens)
            + "\n\nLast token in the text:\n"
            + trimmedTokens.get(trimmedTokens.size() - 1)
            + "\n\nLast token activation, considering the token in the context in which it appeared in the text:\n");
    if (!endOfPrompt) {
      int[] normalized =
          ActivationRecords.normalizeActivations(
              trimmedActivations, ActivationRecords.calculateMaxActivation(List.of(record)));
      builder.addMessage(Role.ASSISTANT, normalized[normalized.length - 1] + "\n\n");
    }
  }
}
