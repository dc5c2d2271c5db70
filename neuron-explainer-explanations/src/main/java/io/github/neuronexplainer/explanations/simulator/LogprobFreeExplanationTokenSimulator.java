package io.github.neuronexplainer.explanations.simulator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.Json;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.explainer.NeuronExplainer;
import io.github.neuronexplainer.explanations.fewshot.Example;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.ChatMessage;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The logprob-free simulator (the one the original's activation server uses): a chat request whose
 * answer is JSON with an activation per token. A completion that is not usable JSON yields zeros,
 * as upstream does; an API failure fails the future. Immutable and thread-safe.
 */
public final class LogprobFreeExplanationTokenSimulator implements NeuronSimulator {
  private static final Logger LOG =
      LoggerFactory.getLogger(LogprobFreeExplanationTokenSimulator.class);
  private static final ObjectReader STRICT_READER =
      Json.MAPPER.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private static final Map<FewShotExampleSet, List<ChatMessage>> FEW_SHOT_MESSAGES =
      new ConcurrentHashMap<>();

  private final LlmClient client;
  private final String explanation;
  private final FewShotExampleSet fewShotExampleSet;

  /**
   * @param fewShotExampleSet COLANGV2 (the default upstream) or TEST
   */
  public LogprobFreeExplanationTokenSimulator(
      LlmClient client, String explanation, FewShotExampleSet fewShotExampleSet) {
    this(client, explanation, fewShotExampleSet, PromptFormat.CHAT_MESSAGES);
  }

  /**
   * @param promptFormat must be CHAT_MESSAGES (the only format upstream supports)
   */
  public LogprobFreeExplanationTokenSimulator(
      LlmClient client,
      String explanation,
      FewShotExampleSet fewShotExampleSet,
      PromptFormat promptFormat) {
    if (fewShotExampleSet == FewShotExampleSet.ORIGINAL) {
      throw new IllegalArgumentException(
          "This simulator doesn't support the ORIGINAL few-shot example set.");
    }
    if (promptFormat != PromptFormat.CHAT_MESSAGES) {
      throw new IllegalArgumentException(
          "This simulator only supports the CHAT_MESSAGES prompt format.");
    }
    this.client = client;
    this.explanation = Objects.requireNonNull(explanation, "explanation");
    this.fewShotExampleSet = fewShotExampleSet;
  }

  @Override
  public CompletableFuture<SequenceSimulation> simulate(List<String> tokens) {
    try {
      return startSimulation(tokens);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletableFuture<SequenceSimulation> startSimulation(List<String> tokens) {
    if (client == null) {
      throw new IllegalStateException("This simulator was built without a client");
    }
    List<String> copy = List.copyOf(tokens);
    ObjectNode body = ApiRequest.newBody();
    body.set(
        "messages",
        NeuronExplainer.messagesJson(makeSimulationPrompt(copy, explanation).messages()));
    body.put("max_tokens", 2000);
    body.put("temperature", 0);
    return client
        .generate(new ApiRequest(body, null))
        .thenApply(
            response -> {
              JsonNode choices = response.path("choices");
              if (!choices.isArray() || choices.size() != 1) {
                throw new ApiException(
                    "Expected exactly one choice in the simulation response, got "
                        + (choices.isArray() ? choices.size() : "none"),
                    false,
                    -1);
              }
              JsonNode content = choices.get(0).path("message").path("content");
              if (!content.isTextual()) {
                throw new ApiException(
                    "The simulation response has no choices[0].message.content", false, -1);
              }
              List<Number> activations =
                  parseNoLogprobsCompletionJson(content.textValue(), copy.size());
              return new SequenceSimulation(
                  copy,
                  activations,
                  ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
                  List.of(),
                  List.of(),
                  null);
            });
  }

  /**
   * The chat prompt: system message, few-shot JSON pairs (first record only), then the query JSON.
   */
  public Prompt makeSimulationPrompt(List<String> tokens, String explanation) {
    if (explanation.isEmpty()) {
      throw new IllegalArgumentException("explanation must not be empty");
    }
    PromptBuilder builder = new PromptBuilder(true);
    for (ChatMessage m :
        FEW_SHOT_MESSAGES.computeIfAbsent(
            fewShotExampleSet, LogprobFreeExplanationTokenSimulator::fewShotMessages)) {
      builder.addMessage(m.role(), m.content());
    }
    builder.addMessage(
        Role.USER, formatRecordAsJson(explanation, new ActivationRecord(List.of(), tokens), false));
    return builder.build(PromptFormat.CHAT_MESSAGES);
  }

  /**
   * The system message and few-shot JSON pairs (first record only); constant per set, so built
   * once.
   */
  private static List<ChatMessage> fewShotMessages(FewShotExampleSet set) {
    List<ChatMessage> out = new ArrayList<>();
    out.add(new ChatMessage(Role.SYSTEM, SimulatorPrompts.LOGPROB_FREE));
    for (Example e : set.getExamples()) {
      ActivationRecord first = e.activationRecords().get(0);
      out.add(new ChatMessage(Role.USER, formatRecordAsJson(e.explanation(), first, false)));
      out.add(new ChatMessage(Role.ASSISTANT, formatRecordAsJson(e.explanation(), first, true)));
    }
    return List.copyOf(out);
  }

  /**
   * {@code json.dumps({"to_find", "document", "activations": [{"token", "activation"}]})} with raw
   * values.
   */
  public static String formatRecordAsJson(
      String explanation, ActivationRecord record, boolean includeActivations) {
    if (includeActivations && record.tokens().size() != record.activations().size()) {
      throw new IllegalArgumentException(
          "Record has "
              + record.tokens().size()
              + " tokens but "
              + record.activations().size()
              + " activations");
    }
    List<Object> activations = new ArrayList<>();
    for (int i = 0; i < record.tokens().size(); i++) {
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("token", record.tokens().get(i));
      entry.put("activation", includeActivations ? record.activations().get(i) : null);
      activations.add(entry);
    }
    Map<String, Object> root = new LinkedHashMap<>();
    root.put("to_find", explanation);
    root.put("document", String.join("", record.tokens()));
    root.put("activations", activations);
    return PythonJson.dumps(root);
  }

  /**
   * Upstream's lenient parsing of the completion: zeros (floats) when it is not JSON, lacks {@code
   * "activations"} or has the wrong length; per entry, int {@code 0} when malformed, {@code 0.0}
   * when outside [0, 10], else the value (NaN kept).
   *
   * @throws IllegalArgumentException where upstream raises an uncaught TypeError (e.g. a JSON
   *     string or list at the top level, or non-container entries)
   */
  public static List<Number> parseNoLogprobsCompletionJson(String completion, int numTokens) {
    List<Number> zeros = new ArrayList<>();
    for (int i = 0; i < numTokens; i++) {
      zeros.add(0.0);
    }
    JsonNode root;
    try {
      root = STRICT_READER.readValue(completion);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      LOG.error(
          "Error: the logprob free simulator response is not valid JSON. Not a severe error, "
              + "throw rate depends on the model's ability to produce JSON.");
      return zeros;
    }
    if (root == null || root.isMissingNode()) {
      return zeros;
    }
    if (!pyContains(root, "activations")) {
      LOG.error("The key 'activations' is not in the logprob free simulator response.");
      return zeros;
    }
    JsonNode activations = pyGetItem(root, "activations");
    if (pyLen(activations) != numTokens) {
      return zeros;
    }
    List<Number> out = new ArrayList<>();
    for (JsonNode a : pyIterate(activations)) {
      if (!pyContains(a, "token") || !pyContains(a, "activation")) {
        out.add(0L);
        continue;
      }
      if (!a.isObject()) {
        out.add(0L); // str/list indexed by a string: TypeError, caught upstream
        continue;
      }
      Double v = pyFloat(a.get("activation"));
      if (v == null) {
        out.add(0L);
      } else if (v < 0 || v > Logprobs.MAX_NORMALIZED_ACTIVATION) {
        out.add(0.0);
      } else {
        out.add(v);
      }
    }
    return out;
  }

  /** Python {@code key in value}. */
  private static boolean pyContains(JsonNode value, String key) {
    if (value.isObject()) {
      return value.has(key);
    }
    if (value.isTextual()) {
      return value.textValue().contains(key);
    }
    if (value.isArray()) {
      for (JsonNode n : value) {
        if (n.isTextual() && n.textValue().equals(key)) {
          return true;
        }
      }
      return false;
    }
    throw new IllegalArgumentException(
        "TypeError: argument of type '" + pyType(value) + "' is not iterable");
  }

  private static JsonNode pyGetItem(JsonNode value, String key) {
    if (value.isObject()) {
      return value.get(key);
    }
    throw new IllegalArgumentException(
        "TypeError: "
            + pyType(value)
            + " indices must be integers"
            + (value.isArray() ? " or slices" : "")
            + ", not 'str'");
  }

  private static int pyLen(JsonNode value) {
    if (value.isObject() || value.isArray()) {
      return value.size();
    }
    if (value.isTextual()) {
      return PythonText.length(value.textValue());
    }
    throw new IllegalArgumentException(
        "TypeError: object of type '" + pyType(value) + "' has no len()");
  }

  private static List<JsonNode> pyIterate(JsonNode value) {
    List<JsonNode> out = new ArrayList<>();
    if (value.isArray()) {
      value.forEach(out::add);
    } else if (value.isObject()) {
      Iterator<String> names = value.fieldNames();
      names.forEachRemaining(n -> out.add(Json.MAPPER.getNodeFactory().textNode(n)));
    } else if (value.isTextual()) {
      value
          .textValue()
          .codePoints()
          .forEach(cp -> out.add(Json.MAPPER.getNodeFactory().textNode(Character.toString(cp))));
    }
    return out;
  }

  /** Python {@code float(x)}, or {@code null} where it raises ValueError/TypeError. */
  private static Double pyFloat(JsonNode v) {
    if (v.isBoolean()) {
      return v.booleanValue() ? 1.0 : 0.0;
    }
    if (v.isNumber()) {
      return v.doubleValue();
    }
    if (v.isTextual()) {
      try {
        return PythonJson.parseFloat(v.textValue());
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }

  private static String pyType(JsonNode v) {
    if (v.isNull()) {
      return "NoneType";
    }
    if (v.isBoolean()) {
      return "bool";
    }
    if (v.isIntegralNumber()) {
      return "int";
    }
    if (v.isNumber()) {
      return "float";
    }
    if (v.isTextual()) {
      return "str";
    }
    return v.isArray() ? "list" : "dict";
  }
}
