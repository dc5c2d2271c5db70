package io.github.neuronexplainer.explanations.prompt;

/** How a prompt is sent: plain text, text with {@code <|endofprompt|>}, or chat messages. */
public enum PromptFormat {
  /** Concatenated message contents. */
  NONE("none"),
  /** Concatenated contents with {@code <|endofprompt|>} after the last user message. */
  INSTRUCTION_FOLLOWING("instruction_following"),
  /** A list of chat messages. */
  CHAT_MESSAGES("chat_messages");

  private final String value;

  PromptFormat(String value) {
    this.value = value;
  }

  /** The original's string value. */
  public String value() {
    return value;
  }

  /**
   * Parses the string value ({@code "none"}, {@code "instruction_following"}, {@code
   * "chat_messages"}).
   */
  public static PromptFormat fromString(String s) {
    for (PromptFormat f : values()) {
      if (f.value.equals(s)) {
        return f;
      }
    }
    throw new IllegalArgumentException(s + " is not a valid PromptFormat");
  }
}
