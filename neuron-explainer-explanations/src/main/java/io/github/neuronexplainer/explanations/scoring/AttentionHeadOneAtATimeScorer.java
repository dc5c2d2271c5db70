package io.github.neuronexplainer.explanations.scoring;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.AttentionSimulation;
import io.github.neuronexplainer.core.records.AttentionUtils;
import io.github.neuronexplainer.core.records.ScoredAttentionSimulation;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.explainer.AttentionPairs;
import io.github.neuronexplainer.explanations.explainer.NeuronExplainer;
import io.github.neuronexplainer.explanations.fewshot.AttentionHeadFewShotExample;
import io.github.neuronexplainer.explanations.fewshot.AttentionSimulationExample;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.ChatMessage;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

/**
 * Scores an attention-head explanation: the top token pairs (label 1) and a random sample of weak
 * pairs (label 0) are each shown to the model, which answers 0 or 1; the ROC-AUC of P(1) against
 * the labels is the score. Requests run sequentially, as upstream. Thread-safe when its sampler is.
 */
public final class AttentionHeadOneAtATimeScorer {
  static final Duration TIMEOUT = Duration.ofSeconds(60);
  static final String SYSTEM_PROMPT =
      "We're studying attention heads in a neural network. Each head looks at "
          + "every pair of tokens in a short token sequence and activates for pairs of tokens that fit what it is "
          + "looking for. Attention heads always attend from a token to a token earlier in the sequence (or from a "
          + "token to itself). We will display a token sequence and indicate a particular token pair within that "
          + "sequence. The \"to\" token of the pair will be marked with double asterisks (e.g., **token**) and the "
          + "\"from\" token will be marked with double square brackets (e.g., [[token]]). If the token pair "
          + "consists of a token paired with itself, it will be marked with both (e.g., [[**token**]]) and no "
          + "other token in the sequence will be marked. We present an explanation of what the attention head is "
          + "looking for. Output 1 if the head activates for the token pair, and 0 otherwise.";

  /**
   * Chooses the low-activation pairs; upstream uses Python's unseeded {@code random.sample}. Use
   * {@link PythonRandom} for a seeded, CPython-identical choice, or {@link #randomSampler}.
   */
  @FunctionalInterface
  public interface Sampler {
    <T> List<T> sample(List<T> population, int k);
  }

  /** A sampler backed by {@link Random} (shuffle then take {@code k}). */
  public static Sampler randomSampler(Random random) {
    return new Sampler() {
      @Override
      public synchronized <T> List<T> sample(List<T> population, int k) {
        List<T> copy = new ArrayList<>(population);
        Collections.shuffle(copy, random);
        return copy.subList(0, k);
      }
    };
  }

  private final LlmClient client;
  private final boolean repeatStronglyAttendingPairs;
  private final Sampler sampler;

  public AttentionHeadOneAtATimeScorer(
      LlmClient client,
      PromptFormat promptFormat,
      boolean repeatStronglyAttendingPairs,
      Sampler sampler) {
    if (promptFormat != PromptFormat.CHAT_MESSAGES) {
      throw new IllegalArgumentException(
          "Unhandled prompt format PromptFormat." + promptFormat.name());
    }
    this.client = client;
    this.repeatStronglyAttendingPairs = repeatStronglyAttendingPairs;
    this.sampler = Objects.requireNonNull(sampler, "sampler");
  }

  /** With CHAT_MESSAGES, no repeated pairs and a fresh random sampler. */
  public AttentionHeadOneAtATimeScorer(LlmClient client) {
    this(client, PromptFormat.CHAT_MESSAGES, false, randomSampler(new Random()));
  }

  private record Candidate(int recordIndex, double value, int from, int to) {}

  /**
   * Scores {@code explanation} on the records.
   *
   * @param numActivationsForScoring top pairs, and at most as many low pairs
   * @param lowActivationThreshold low pairs have value below this fraction of {@code maxActivation}
   */
  public CompletableFuture<ScoredAttentionSimulation> scoreExplanation(
      String explanation,
      List<ActivationRecord> records,
      double maxActivation,
      int numActivationsForScoring,
      double lowActivationThreshold) {
    List<Candidate> candidates = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      List<Number> acts = records.get(i).activations();
      for (int flat : AttentionPairs.argsortDescending(acts)) {
        int[] c = AttentionUtils.unflatten(flat);
        candidates.add(new Candidate(i, acts.get(flat).doubleValue(), c[0], c[1]));
      }
    }
    List<Candidate> sorted = new ArrayList<>(candidates);
    sorted.sort(Comparator.comparingDouble(Candidate::value).reversed());
    List<Candidate> top = sorted.subList(0, Math.min(numActivationsForScoring, sorted.size()));
    List<Candidate> lowPool =
        candidates.stream()
            .filter(c -> c.value() < lowActivationThreshold * maxActivation)
            .toList();
    List<Candidate> low =
        sampler.sample(lowPool, Math.min(lowPool.size(), numActivationsForScoring));
    List<Candidate> chosen = new ArrayList<>(top);
    chosen.addAll(low);
    int[] labels = new int[chosen.size()];
    for (int i = 0; i < top.size(); i++) {
      labels[i] = 1;
    }
    CompletableFuture<List<AttentionSimulation>> chain =
        CompletableFuture.completedFuture(new ArrayList<>());
    for (int k = 0; k < chosen.size(); k++) {
      Candidate c = chosen.get(k);
      int label = labels[k];
      List<String> tokens = records.get(c.recordIndex()).tokens();
      chain =
          chain.thenCompose(
              done ->
                  predict(explanation, tokens, c.from(), c.to())
                      .thenApply(
                          p -> {
                            done.add(
                                new AttentionSimulation(
                                    tokens, List.of(c.from(), c.to()), label, p));
                            return done;
                          }));
    }
    return chain.thenApply(
        sims ->
            new ScoredAttentionSimulation(
                sims,
                Scoring.rocAucScore(
                    labels,
                    sims.stream()
                        .mapToDouble(AttentionSimulation::simulationPrediction)
                        .toArray())));
  }

  private CompletableFuture<Double> predict(
      String explanation, List<String> tokens, int from, int to) {
    ObjectNode body = ApiRequest.newBody();
    body.put("n", 1);
    body.put("max_tokens", 1);
    body.put("logprobs", true);
    body.put("top_logprobs", 15);
    body.set(
        "messages",
        NeuronExplainer.messagesJson(makeTokenPairPrompt(explanation, tokens, from, to)));
    return client
        .generate(new ApiRequest(body, TIMEOUT))
        .thenApply(AttentionHeadOneAtATimeScorer::probabilityOfOne);
  }

  private static double probabilityOfOne(JsonNode response) {
    JsonNode choices = response.path("choices");
    if (!choices.isArray() || choices.size() != 1) {
      throw new ApiException("Expected exactly one choice in the scoring response", false, -1);
    }
    JsonNode top = choices.get(0).path("logprobs").path("content").path(0).path("top_logprobs");
    if (!top.isArray()) {
      throw new ApiException(
          "The scoring response has no logprobs.content[0].top_logprobs; "
              + "the model must support chat logprobs",
          false,
          -1);
    }
    Map<String, Double> logprobs = new HashMap<>();
    top.forEach(t -> logprobs.put(t.path("token").asText(), t.path("logprob").doubleValue()));
    double p0 = logprobs.containsKey("0") ? Math.exp(logprobs.get("0")) : 0.0;
    double p1 = logprobs.containsKey("1") ? Math.exp(logprobs.get("1")) : 0.0;
    if (p0 + p1 == 0.0) {
      throw new ArithmeticException(
          "float division by zero: neither \"0\" nor \"1\" is among the top logprobs");
    }
    return p1 / (p0 + p1);
  }

  /** The chat prompt for one token pair, after the four few-shot scorer examples. */
  public List<ChatMessage> makeTokenPairPrompt(
      String explanation, List<String> tokens, int from, int to) {
    PromptBuilder builder = new PromptBuilder();
    builder.addMessage(Role.SYSTEM, SYSTEM_PROMPT);
    int count = 0;
    for (AttentionHeadFewShotExample e : FewShotExampleSet.attentionHeadExamples()) {
      for (AttentionSimulationExample s : e.simulationExamples()) {
        addPairPrompt(
            builder,
            e.tokenPairExamples().get(s.tokenPairExampleIndex()).tokens(),
            e.explanation(),
            s.from(),
            s.to(),
            count,
            s.label());
        count++;
      }
    }
    addPairPrompt(builder, tokens, explanation, from, to, count, null);
    return builder.build(PromptFormat.CHAT_MESSAGES).messages();
  }

  private void addPairPrompt(
      PromptBuilder builder,
      List<String> tokens,
      String explanation,
      int from,
      int to,
      int index,
      Integer label) {
    int n = index + 1;
    StringBuilder user =
        new StringBuilder(
            "\n\nExample "
                + n
                + "\nExplanation: this attention head "
                + PythonText.strip(explanation)
                + "\nSequence:\n"
                + AttentionPairs.formatTokenPairString(tokens, from, to));
    if (repeatStronglyAttendingPairs) {
      user.append("\nThe same token pair, presented as (to_token, from_token): (")
          .append(tokens.get(to))
          .append(", ")
          .append(tokens.get(from))
          .append(")");
    }
    user.append("\nPrediction of whether attention head ")
        .append(n)
        .append(" activates on the token pair: ");
    builder.addMessage(Role.USER, user.toString());
    if (label != null) {
      builder.addMessage(Role.ASSISTANT, label.toString());
    }
  }
}
