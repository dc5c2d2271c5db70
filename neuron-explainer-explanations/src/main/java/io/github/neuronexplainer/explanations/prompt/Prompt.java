package io.github.neuronexplainer.explanations.prompt;

import java.util.List;

/**
 * A built prompt: either text (formats NONE and INSTRUCTION_FOLLOWING) or chat messages. Immutable.
 *
 * @param format the format it was built for
 * @param text the text, or {@code null} for chat
 * @param messages the messages, or {@code null} for text
 */
public record Prompt(PromptFormat format, String text, List<ChatMessage> messages) {
  public Prompt {
    if ((text == null) == (messages == null)) {
      throw new IllegalArgumentException("A prompt has either text or messages");
    }
    messages = messages == null ? null : List.copyOf(messages);
  }

  /** Whether this is a chat prompt. */
  public boolean isChat() {
    return messages != null;
  }
}
