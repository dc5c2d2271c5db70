package io.github.neuronexplainer.explanations.prompt;

import java.util.Objects;

/**
 * One chat message. Immutable.
 *
 * @param role who speaks
 * @param content the text
 */
public record ChatMessage(Role role, String content) {
  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
  }
}
