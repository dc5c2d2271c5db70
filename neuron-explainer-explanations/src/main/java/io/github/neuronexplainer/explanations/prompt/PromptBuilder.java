package io.github.neuronexplainer.explanations.prompt;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects messages and builds a {@link Prompt} in one of the three {@link PromptFormat}s,
 * validating the role order: SYSTEM first, then USER and ASSISTANT alternating (extra SYSTEM
 * messages anywhere when allowed). Not thread-safe; use one builder per prompt.
 */
public final class PromptBuilder {
  /** Appended to the last user message in {@link PromptFormat#INSTRUCTION_FOLLOWING}. */
  public static final String END_OF_PROMPT = "<|endofprompt|>";

  private final boolean allowExtraSystemMessages;
  private final List<ChatMessage> messages = new ArrayList<>();

  public PromptBuilder() {
    this(false);
  }

  public PromptBuilder(boolean allowExtraSystemMessages) {
    this.allowExtraSystemMessages = allowExtraSystemMessages;
  }

  /** Appends a message. */
  public PromptBuilder addMessage(Role role, String content) {
    messages.add(new ChatMessage(role, content));
    return this;
  }

  /** The messages added so far. */
  public List<ChatMessage> messages() {
    return List.copyOf(messages);
  }

  /**
   * Builds the prompt.
   *
   * @throws IllegalStateException if the role order is invalid, or an instruction-following prompt
   *     has no user message
   */
  public Prompt build(PromptFormat format) {
    validateRoles();
    List<ChatMessage> copy = new ArrayList<>(messages);
    if (format == PromptFormat.INSTRUCTION_FOLLOWING) {
      int last = -1;
      for (int i = 0; i < copy.size(); i++) {
        if (copy.get(i).role() == Role.USER) {
          last = i;
        }
      }
      if (last < 0) {
        throw new IllegalStateException("An INSTRUCTION_FOLLOWING prompt needs a user message");
      }
      copy.set(last, new ChatMessage(Role.USER, copy.get(last).content() + END_OF_PROMPT));
    }
    if (format == PromptFormat.CHAT_MESSAGES) {
      return new Prompt(format, null, copy);
    }
    StringBuilder sb = new StringBuilder();
    for (ChatMessage m : copy) {
      sb.append(m.content());
    }
    return new Prompt(format, sb.toString(), null);
  }

  private void validateRoles() {
    Role expected = Role.SYSTEM;
    for (ChatMessage m : messages) {
      if (!(m.role() == expected || (allowExtraSystemMessages && m.role() == Role.SYSTEM))) {
        throw new IllegalStateException(
            "Expected message from " + expected + " but got message from " + m.role());
      }
      expected = m.role() == Role.USER ? Role.ASSISTANT : Role.USER;
    }
  }

  /**
   * Prompt length: chat counts 4 per message plus its content, plus 2; text counts the built
   * string.
   */
  public int promptLengthInTokens(PromptFormat format, TokenCounter counter) {
    Prompt p = build(format);
    if (p.isChat()) {
      int total = 2;
      for (ChatMessage m : p.messages()) {
        total += 4 + counter.count(m.content());
      }
      return total;
    }
    return counter.count(p.text());
  }
}
