package io.github.neuronexplainer.explanations.explainer;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.explanations.ActivationRecords;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.fewshot.Example;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Pattern;

/**
 * Explains a neuron from its top-activating records: few-shot examples, then the neuron's records
 * as {@code token<TAB>0..10} lines, and the model completes "this neuron activates for …". Prompts
 * that do not fit the context window drop the last record of one more few-shot example per retry.
 * Immutable and thread-safe.
 */
public final class TokenActivationPairExplainer extends NeuronExplainer {
  /** The explanation prefix the model continues. */
  public static final String EXPLANATION_PREFIX = "this neuron activates for";

  private static final Pattern NUMBERED_ITEM = Pattern.compile("\n\\p{Nd}+\\.");

  static final String SYSTEM_PROMPT =
      "We're studying neurons in a neural network. Each neuron looks for some "
          + "particular thing in a short document. Look at the parts of the document the neuron activates for "
          + "and summarize in a single sentence what the neuron is looking for. Don't list examples of words.\n\n"
          + "The activation format is token<tab>activation. Activation values range from 0 to 10. A neuron "
          + "finding what it's looking for is represented by a non-zero activation value. The higher the "
          + "activation value, the stronger the match.";

  private final FewShotExampleSet fewShotExampleSet;
  private final boolean repeatNonZeroActivations;

  private TokenActivationPairExplainer(Builder b) {
    super(b);
    this.fewShotExampleSet = b.fewShotExampleSet;
    this.repeatNonZeroActivations = b.repeatNonZeroActivations;
  }

  /** A builder with the original's defaults (CHAT_MESSAGES, FOUR_K, ORIGINAL, cl100k counting). */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder; not thread-safe. */
  public static final class Builder extends NeuronExplainer.Builder<Builder> {
    private FewShotExampleSet fewShotExampleSet = FewShotExampleSet.ORIGINAL;
    private boolean repeatNonZeroActivations;

    @Override
    protected Builder self() {
      return this;
    }

    public Builder fewShotExampleSet(FewShotExampleSet v) {
      fewShotExampleSet = v;
      return this;
    }

    public Builder repeatNonZeroActivations(boolean v) {
      repeatNonZeroActivations = v;
      return this;
    }

    public TokenActivationPairExplainer build() {
      return new TokenActivationPairExplainer(this);
    }
  }

  /**
   * The explanation prompt for {@code allActivations}.
   *
   * @param maxTokensForCompletion completion budget reserved in the context window
   * @param numberedListOfNExplanations ask for a numbered list, or {@code null}. Like the original,
   *     this mode omits all activation records from the prompt (an upstream bug kept for parity).
   */
  public Prompt makeExplanationPrompt(
      List<ActivationRecord> allActivations,
      int maxTokensForCompletion,
      Integer numberedListOfNExplanations) {
    if (numberedListOfNExplanations != null && numberedListOfNExplanations <= 0) {
      throw new IllegalArgumentException(
          "numberedListOfNExplanations must be > 0, got " + numberedListOfNExplanations);
    }
    return makeExplanationPrompt(
        allActivations, maxTokensForCompletion, numberedListOfNExplanations, 0);
  }

  /**
   * As {@link #makeExplanationPrompt(List, int, Integer)}, but starting with the last record of the
   * first {@code omitNActivationRecords} multi-record few-shot examples already dropped.
   */
  public Prompt makeExplanationPrompt(
      List<ActivationRecord> allActivations,
      int maxTokensForCompletion,
      Integer numberedListOfNExplanations,
      int omitNActivationRecords) {
    if (numberedListOfNExplanations != null && numberedListOfNExplanations <= 0) {
      throw new IllegalArgumentException(
          "numberedListOfNExplanations must be > 0, got " + numberedListOfNExplanations);
    }
    return makePrompt(
        allActivations,
        maxTokensForCompletion,
        numberedListOfNExplanations,
        omitNActivationRecords);
  }

  private Prompt makePrompt(
      List<ActivationRecord> allActivations,
      int maxTokensForCompletion,
      Integer numbered,
      int omitN) {
    PromptBuilder builder = new PromptBuilder();
    builder.addMessage(Role.SYSTEM, SYSTEM_PROMPT);
    List<Example> examples = fewShotExampleSet.getExamples();
    int omitted = 0;
    for (int i = 0; i < examples.size(); i++) {
      List<ActivationRecord> records = examples.get(i).activationRecords();
      if (contextSize == ContextSize.TWO_K) {
        records = records.subList(0, 1);
      } else if (omitted < omitN && records.size() > 1) {
        records = records.subList(0, records.size() - 1);
        omitted++;
        notice("Warning: omitting activation record from few-shot example " + i);
      }
      addPerNeuronPrompt(builder, records, i, numbered, examples.get(i).explanation());
    }
    List<ActivationRecord> subject =
        contextSize == ContextSize.TWO_K
            ? allActivations.subList(0, Math.min(2, allActivations.size()))
            : allActivations;
    addPerNeuronPrompt(builder, subject, examples.size(), numbered, null);
    if (promptIsTooLong(builder, maxTokensForCompletion) && omitted == omitN) {
      return makePrompt(allActivations, maxTokensForCompletion, numbered, omitN + 1);
    }
    return builder.build(promptFormat);
  }

  private void addPerNeuronPrompt(
      PromptBuilder builder,
      List<ActivationRecord> records,
      int index,
      Integer numbered,
      String explanation) {
    int n = index + 1;
    if (numbered != null) {
      // Upstream builds the activation message below but never adds it in this mode.
      if (explanation == null) {
        builder.addMessage(
            Role.USER,
            "\nHere are "
                + numbered
                + " possible explanations for neuron "
                + n
                + " behavior, each beginning with \""
                + EXPLANATION_PREFIX
                + "\":\n1. "
                + EXPLANATION_PREFIX);
      } else {
        builder.addMessage(
            Role.USER,
            "\nHere is 1 possible explanation for neuron "
                + n
                + " behavior, beginning with \""
                + EXPLANATION_PREFIX
                + "\":\n1. "
                + EXPLANATION_PREFIX);
        builder.addMessage(Role.ASSISTANT, " " + explanation + ".");
      }
      return;
    }
    double max = ActivationRecords.calculateMaxActivation(records);
    StringBuilder user =
        new StringBuilder(
            "\n\nNeuron "
                + n
                + "\nActivations:"
                + ActivationRecords.formatActivationRecords(records, max, false, null, false));
    if (repeatNonZeroActivations
        && ActivationRecords.nonZeroActivationProportion(records, max) < 0.2) {
      user.append("\nSame activations, but with all zeros filtered out:")
          .append(ActivationRecords.formatActivationRecords(records, max, true, null, false));
    }
    user.append("\nExplanation of neuron ").append(n).append(" behavior:");
    StringBuilder assistant = new StringBuilder();
    if (promptFormat == PromptFormat.INSTRUCTION_FOLLOWING) {
      assistant.append(" ").append(EXPLANATION_PREFIX);
    } else {
      user.append(" ").append(EXPLANATION_PREFIX);
    }
    builder.addMessage(Role.USER, user.toString());
    if (explanation != null) {
      assistant.append(" ").append(explanation).append(".");
    }
    if (assistant.length() > 0) {
      builder.addMessage(Role.ASSISTANT, assistant.toString());
    }
  }

  /**
   * Requests explanations for {@code allActivations}. The future fails with an {@link
   * io.github.neuronexplainer.explanations.client.ApiException} if the API call fails.
   */
  public CompletableFuture<List<String>> generateExplanations(
      List<ActivationRecord> allActivations, GenerationOptions options) {
    try {
      Prompt prompt =
          makeExplanationPrompt(
              allActivations, options.maxTokens(), options.numberedListOfNExplanations());
      return complete(prompt, options)
          .thenApply(
              completions ->
                  postprocessExplanations(completions, options.numberedListOfNExplanations()));
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Blocking {@link #generateExplanations}. */
  public List<String> generateExplanationsBlocking(
      List<ActivationRecord> allActivations, GenerationOptions options) {
    return LlmClient.await(generateExplanations(allActivations, options));
  }

  /** Splits numbered-list completions and strips the prefix; other completions pass through. */
  public static List<String> postprocessExplanations(
      List<String> completions, Integer numberedListOfNExplanations) {
    if (numberedListOfNExplanations == null) {
      return List.copyOf(completions);
    }
    List<String> out = new ArrayList<>();
    for (String completion : completions) {
      for (String part : splitNumberedList(completion)) {
        if (part.startsWith(EXPLANATION_PREFIX)) {
          part = part.substring(EXPLANATION_PREFIX.length());
        }
        out.add(PythonText.strip(part));
      }
    }
    return out;
  }

  /** {@code re.split(r"\n\d+\.", text)} with each part left-stripped. */
  public static List<String> splitNumberedList(String text) {
    List<String> out = new ArrayList<>();
    for (String part : NUMBERED_ITEM.split(text, -1)) {
      out.add(PythonText.lstrip(part));
    }
    return out;
  }
}
