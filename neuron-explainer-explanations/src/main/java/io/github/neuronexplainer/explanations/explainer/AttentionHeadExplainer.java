package io.github.neuronexplainer.explanations.explainer;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.explanations.fewshot.AttentionHeadFewShotExample;
import io.github.neuronexplainer.explanations.fewshot.AttentionTokenPairExample;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Explains an attention head from its strongest token pairs (records hold flattened token-pair
 * activations). Immutable and thread-safe.
 */
public final class AttentionHeadExplainer extends NeuronExplainer {
  /** The explanation prefix the model continues. */
  public static final String ATTENTION_EXPLANATION_PREFIX = "this attention head";

  static final String SYSTEM_PROMPT =
      "We're studying attention heads in a neural network. Each head looks at "
          + "every pair of tokens in a short token sequence and activates for pairs of tokens that fit what it is "
          + "looking for. Attention heads always attend from a token to a token earlier in the sequence (or from a "
          + "token to itself). We will display multiple instances of sequences with the \"to\" token surrounded by "
          + "double asterisks (e.g., **token**) and the \"from\" token surrounded by double square brackets (e.g., "
          + "[[token]]). If a token attends from itself to itself, it will be surrounded by both (e.g., "
          + "[[**token**]]). Look at the pairs of tokens the head activates for and summarize in a single sentence "
          + "what pattern the head is looking for. We do not display every activating pair of tokens in a "
          + "sequence; you must generalize from limited examples. Remember, the head always attends to tokens "
          + "earlier in the sentence (marked with ** **) from tokens later in the sentence (marked with [[ ]]), "
          + "except when the head attends from a token to itself (marked with [[** **]]). The explanation takes "
          + "the form: \"This attention head attends to {pattern of tokens marked with ** **, which appear "
          + "earlier} from {pattern of tokens marked with [[ ]], which appear later}.\" The explanation does not "
          + "include any of the markers (** **, [[ ]]), as these are just for your reference. Sequences are "
          + "separated by `<|sequence_separator|>`.";

  private final boolean repeatStronglyAttendingPairs;

  private AttentionHeadExplainer(Builder b) {
    super(b);
    if (b.contextSize() == ContextSize.TWO_K) {
      throw new IllegalArgumentException("2k context size not supported for attention explanation");
    }
    this.repeatStronglyAttendingPairs = b.repeatStronglyAttendingPairs;
  }

  /** A builder with the original's defaults (CHAT_MESSAGES, FOUR_K, no repeated pairs). */
  public static Builder builder() {
    return new Builder();
  }

  /** Builder; not thread-safe. */
  public static final class Builder extends NeuronExplainer.Builder<Builder> {
    private boolean repeatStronglyAttendingPairs;

    @Override
    protected Builder self() {
      return this;
    }

    public Builder repeatStronglyAttendingPairs(boolean v) {
      repeatStronglyAttendingPairs = v;
      return this;
    }

    public AttentionHeadExplainer build() {
      return new AttentionHeadExplainer(this);
    }
  }

  /**
   * The explanation prompt.
   *
   * @param numTopPairsToDisplay strongest pairs to show (the original defaults to 0, an empty
   *     block; its activation server uses 5)
   */
  public Prompt makeExplanationPrompt(
      List<ActivationRecord> allActivations, int maxTokensForCompletion, int numTopPairsToDisplay) {
    return makeExplanationPrompt(allActivations, maxTokensForCompletion, numTopPairsToDisplay, 0);
  }

  /**
   * As above, starting with the last pair of the first {@code omitNTokenPairExamples} few-shot
   * heads dropped.
   */
  public Prompt makeExplanationPrompt(
      List<ActivationRecord> allActivations,
      int maxTokensForCompletion,
      int numTopPairsToDisplay,
      int omitNTokenPairExamples) {
    return makePrompt(
        allActivations, maxTokensForCompletion, numTopPairsToDisplay, omitNTokenPairExamples);
  }

  private Prompt makePrompt(List<ActivationRecord> records, int maxTokens, int numTop, int omitN) {
    PromptBuilder builder = new PromptBuilder();
    builder.addMessage(Role.SYSTEM, SYSTEM_PROMPT);
    List<AttentionHeadFewShotExample> examples = FewShotExampleSet.attentionHeadExamples();
    int omitted = 0;
    for (int i = 0; i < examples.size(); i++) {
      List<AttentionTokenPairExample> pairs = examples.get(i).tokenPairExamples();
      if (omitted < omitN && pairs.size() > 1) {
        pairs = pairs.subList(0, pairs.size() - 1);
        omitted++;
        notice("Warning: omitting activation record from few-shot example " + i);
      }
      addPerHeadPrompt(builder, pairs, i, examples.get(i).explanation());
    }
    Map<Integer, List<int[]>> byRecord = new LinkedHashMap<>();
    for (AttentionPairs.TopPair p : AttentionPairs.topAttentionCoordinates(records, numTop)) {
      byRecord
          .computeIfAbsent(p.recordIndex(), k -> new ArrayList<>())
          .add(new int[] {p.from(), p.to()});
    }
    List<AttentionTokenPairExample> subject = new ArrayList<>();
    byRecord.forEach(
        (r, coords) -> subject.add(new AttentionTokenPairExample(records.get(r).tokens(), coords)));
    addPerHeadPrompt(builder, subject, examples.size(), null);
    if (promptIsTooLong(builder, maxTokens) && omitted == omitN) {
      return makePrompt(records, maxTokens, numTop, omitN + 1);
    }
    return builder.build(promptFormat);
  }

  private void addPerHeadPrompt(
      PromptBuilder builder, List<AttentionTokenPairExample> pairs, int index, String explanation) {
    int n = index + 1;
    StringBuilder user =
        new StringBuilder(
            "\n\nAttention head "
                + n
                + "\nActivations:\n"
                + AttentionPairs.formatTokenPairs(pairs, false));
    if (repeatStronglyAttendingPairs) {
      user.append(
              "\nThe same list of strongly activating token pairs, presented as (to_token, from_token):")
          .append(AttentionPairs.formatTokenPairs(pairs, true));
    }
    user.append("\nExplanation of attention head ").append(n).append(" behavior:");
    StringBuilder assistant = new StringBuilder();
    if (promptFormat == PromptFormat.INSTRUCTION_FOLLOWING) {
      assistant.append(" ").append(ATTENTION_EXPLANATION_PREFIX);
    } else {
      user.append(" ").append(ATTENTION_EXPLANATION_PREFIX);
    }
    builder.addMessage(Role.USER, user.toString());
    if (explanation != null) {
      assistant.append(" ").append(explanation).append(".");
    }
    if (assistant.length() > 0) {
      builder.addMessage(Role.ASSISTANT, assistant.toString());
    }
  }

  /** Requests explanations (the completions are returned unchanged, as upstream). */
  public CompletableFuture<List<String>> generateExplanations(
      List<ActivationRecord> allActivations, int numTopPairsToDisplay, GenerationOptions options) {
    try {
      return complete(
          makeExplanationPrompt(allActivations, options.maxTokens(), numTopPairsToDisplay),
          options);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
