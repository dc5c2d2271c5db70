package io.github.neuronexplainer.explanations.explainer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.prompt.ChatMessage;
import io.github.neuronexplainer.explanations.prompt.Prompt;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.TokenCounter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shared request and prompt-length logic of the explainers. Subclasses are immutable and
 * thread-safe when their client, token counter and notice listener are.
 */
public abstract class NeuronExplainer {
  private static final Logger LOG = LoggerFactory.getLogger(NeuronExplainer.class);
  static final Duration EXPLANATION_TIMEOUT = Duration.ofSeconds(60);

  protected final LlmClient client;
  protected final PromptFormat promptFormat;
  protected final ContextSize contextSize;
  protected final TokenCounter tokenCounter;
  private final Consumer<String> noticeListener;

  protected NeuronExplainer(Builder<?> b) {
    this.client = b.client;
    this.promptFormat = Objects.requireNonNull(b.promptFormat, "promptFormat");
    this.contextSize = Objects.requireNonNull(b.contextSize, "contextSize");
    this.tokenCounter = Objects.requireNonNull(b.tokenCounter, "tokenCounter");
    this.noticeListener = b.noticeListener == null ? s -> {} : b.noticeListener;
  }

  /**
   * The options every explainer has, with the original's defaults (CHAT_MESSAGES, FOUR_K, cl100k
   * counting). Not thread-safe.
   */
  public abstract static class Builder<B extends Builder<B>> {
    private LlmClient client;
    private PromptFormat promptFormat = PromptFormat.CHAT_MESSAGES;
    private ContextSize contextSize = ContextSize.FOUR_K;
    private TokenCounter tokenCounter = TokenCounter.cl100kBase();
    private Consumer<String> noticeListener;

    protected abstract B self();

    /** The context size chosen so far. */
    protected ContextSize contextSize() {
      return contextSize;
    }

    public B client(LlmClient v) {
      client = v;
      return self();
    }

    public B promptFormat(PromptFormat v) {
      promptFormat = v;
      return self();
    }

    public B contextSize(ContextSize v) {
      contextSize = v;
      return self();
    }

    public B tokenCounter(TokenCounter v) {
      tokenCounter = v;
      return self();
    }

    /** Receives the original's printed diagnostics ("Prompt is too long: …"). */
    public B noticeListener(Consumer<String> v) {
      noticeListener = v;
      return self();
    }
  }

  /** The prompt format used. */
  public PromptFormat promptFormat() {
    return promptFormat;
  }

  /** Reports a diagnostic the original prints (prompt too long, omitted few-shot records). */
  protected void notice(String line) {
    LOG.info(line);
    noticeListener.accept(line);
  }

  /** Whether the prompt plus the completion budget exceeds the context window. */
  protected boolean promptIsTooLong(PromptBuilder builder, int maxTokensForCompletion) {
    int length = builder.promptLengthInTokens(promptFormat, tokenCounter);
    if (length + maxTokensForCompletion > contextSize.tokens()) {
      notice(
          "Prompt is too long: "
              + length
              + " + "
              + maxTokensForCompletion
              + " > "
              + contextSize.tokens());
      return true;
    }
    return false;
  }

  /**
   * Builds the request the original sends: {@code n, max_tokens, temperature, top_p,
   * messages|prompt}.
   */
  protected ApiRequest explanationRequest(Prompt prompt, GenerationOptions options) {
    ObjectNode body = ApiRequest.newBody();
    body.put("n", options.numSamples());
    body.put("max_tokens", options.maxTokens());
    body.put("temperature", options.temperature());
    body.put("top_p", options.topP());
    if (prompt.isChat()) {
      body.set("messages", messagesJson(prompt.messages()));
    } else {
      body.put("prompt", prompt.text());
    }
    return new ApiRequest(body, EXPLANATION_TIMEOUT);
  }

  /** Chat messages as the API expects them. */
  public static JsonNode messagesJson(List<ChatMessage> messages) {
    var array = ApiRequest.newBody().arrayNode();
    for (ChatMessage m : messages) {
      array.addObject().put("role", m.role().value()).put("content", m.content());
    }
    return array;
  }

  /** Sends a built prompt and returns the raw completions (before postprocessing). */
  protected CompletableFuture<List<String>> complete(Prompt prompt, GenerationOptions options) {
    if (client == null) {
      throw new IllegalStateException(
          "This explainer was built without a client; pass one to the builder");
    }
    return client
        .generate(explanationRequest(prompt, options))
        .thenApply(
            response -> {
              JsonNode choices = response.path("choices");
              if (!choices.isArray() || choices.isEmpty()) {
                throw new ApiException(
                    "Response has no choices: " + abbreviate(response.toString()), false, -1);
              }
              List<String> out = new ArrayList<>();
              for (JsonNode c : choices) {
                JsonNode text =
                    prompt.isChat() ? c.path("message").path("content") : c.path("text");
                if (!text.isTextual()) {
                  throw new ApiException(
                      "A choice has no "
                          + (prompt.isChat() ? "message.content" : "text")
                          + ": "
                          + abbreviate(c.toString()),
                      false,
                      -1);
                }
                out.add(text.textValue());
              }
              return out;
            });
  }

  static String abbreviate(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "…";
  }
}
