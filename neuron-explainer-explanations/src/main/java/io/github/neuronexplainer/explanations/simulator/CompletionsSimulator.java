package io.github.neuronexplainer.explanations.simulator;

import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * What the logprob-based simulators share: an explanation, a few-shot set, a prompt format, a
 * client on a {@code /completions} endpoint (CHAT_MESSAGES prompts can be built but not sent), and
 * argument errors reported through the returned future. Subclasses are immutable and thread-safe.
 */
abstract class CompletionsSimulator implements NeuronSimulator {
  protected final LlmClient client;
  protected final String explanation;
  protected final FewShotExampleSet fewShotExampleSet;
  protected final PromptFormat promptFormat;

  CompletionsSimulator(
      LlmClient client,
      String explanation,
      FewShotExampleSet fewShotExampleSet,
      PromptFormat promptFormat) {
    this.client = client;
    this.explanation = Objects.requireNonNull(explanation, "explanation");
    this.fewShotExampleSet = Objects.requireNonNull(fewShotExampleSet, "fewShotExampleSet");
    this.promptFormat = Objects.requireNonNull(promptFormat, "promptFormat");
  }

  /** Why this simulator cannot send CHAT_MESSAGES prompts. */
  abstract String chatMessagesRefusal();

  /** Sends the requests for {@code tokens}; the format and client were checked. */
  abstract CompletableFuture<SequenceSimulation> startSimulation(List<String> tokens);

  @Override
  public final CompletableFuture<SequenceSimulation> simulate(List<String> tokens) {
    try {
      if (promptFormat == PromptFormat.CHAT_MESSAGES) {
        throw new IllegalStateException(chatMessagesRefusal());
      }
      if (client == null) {
        throw new IllegalStateException("This simulator was built without a client");
      }
      return startSimulation(tokens);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
