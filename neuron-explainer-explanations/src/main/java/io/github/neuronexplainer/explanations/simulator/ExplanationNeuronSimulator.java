package io.github.neuronexplainer.explanations.simulator;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.ActivationRecords;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.fewshot.Example;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The "all at once" simulator: one {@code /completions} request with {@code echo} and {@code
 * logprobs} over a prompt whose activations are all {@code unknown}; the logprobs at each {@code
 * unknown} give the predicted distribution. Needs a legacy completions endpoint with echo +
 * logprobs. Immutable and thread-safe.
 */
public final class ExplanationNeuronSimulator extends CompletionsSimulator {
  static final Duration TIMEOUT = Duration.ofSeconds(10);

  /**
   * @param promptFormat NONE or INSTRUCTION_FOLLOWING for {@link #simulate}; CHAT_MESSAGES can only
   *     build prompts
   */
  public ExplanationNeuronSimulator(
      LlmClient client,
      String explanation,
      FewShotExampleSet fewShotExampleSet,
      PromptFormat promptFormat) {
    super(client, explanation, fewShotExampleSet, promptFormat);
  }

  @Override
  String chatMessagesRefusal() {
    return "The all-at-once simulator needs echo + logprobs on /completions; "
        + "use PromptFormat.NONE or INSTRUCTION_FOLLOWING, not CHAT_MESSAGES";
  }

  @Override
  CompletableFuture<SequenceSimulation> startSimulation(List<String> tokens) {
    Prompt prompt = makeSimulationPrompt(tokens);
    ObjectNode body = ApiRequest.newBody();
    body.put("max_tokens", 0);
    body.put("echo", true);
    body.put("logprobs", 15);
    body.put("prompt", prompt.text());
    List<String> copy = List.copyOf(tokens);
    return client
        .generate(new ApiRequest(body, TIMEOUT))
        .thenApply(
            response ->
                SimulationResponseParser.parseSimulationResponse(response, promptFormat, copy));
  }

  /** The simulation prompt. */
  public Prompt makeSimulationPrompt(List<String> tokens) {
    PromptBuilder builder = new PromptBuilder();
    builder.addMessage(Role.SYSTEM, SimulatorPrompts.ALL_AT_ONCE);
    List<Example> examples = fewShotExampleSet.getExamples();
    for (int i = 0; i < examples.size(); i++) {
      Example e = examples.get(i);
      int n = i + 1;
      builder.addMessage(
          Role.USER,
          "\n\nNeuron "
              + n
              + "\nExplanation of neuron "
              + n
              + " behavior: this neuron activates for "
              + e.explanation());
      List<ActivationRecord> records = e.activationRecords();
      builder.addMessage(
          Role.ASSISTANT,
          "\nActivations: "
              + ActivationRecords.formatActivationRecords(
                  records,
                  ActivationRecords.calculateMaxActivation(records),
                  false,
                  e.firstRevealedActivationIndices(),
                  false)
              + "\n");
    }
    int n = examples.size() + 1;
    builder.addMessage(
        Role.USER,
        "\n\nNeuron "
            + n
            + "\nExplanation of neuron "
            + n
            + " behavior: this neuron activates for "
            + PythonText.strip(explanation));
    builder.addMessage(
        Role.ASSISTANT,
        "\nActivations: " + ActivationRecords.formatSequencesForSimulation(List.of(tokens)));
    return builder.build(promptFormat);
  }
}
