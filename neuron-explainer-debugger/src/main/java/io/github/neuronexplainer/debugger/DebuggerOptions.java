package io.github.neuronexplainer.debugger;

import java.util.Set;

/**
 * Which of the original's quirks {@link InteractiveModel} fixes. {@link #faithful()} (the default)
 * keeps every one, so that responses match the original's; each flag fixes one:
 *
 * <ul>
 *   <li>{@code excludeBottomK}: honour {@code GroupId.excludeBottomK()} (write norm, activation and
 *       logits groups rank their top-k only); the original ignores it (quirk 2).
 *   <li>{@code clampTokensAttendedTo}: token-pair attribution on a prompt shorter than {@code
 *       numTokensAttendedTo} returns every token; the original fails (quirk 11).
 *   <li>{@code excludedTopTokens}: token ids never listed as top or bottom tokens (the original's
 *       {@code LEAST_COMMON_GPT2_TOKEN_STRS}, which is not in the reference sources and was empty
 *       when the goldens were made).
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public record DebuggerOptions(
    boolean excludeBottomK, boolean clampTokensAttendedTo, Set<Integer> excludedTopTokens) {

  public DebuggerOptions {
    excludedTopTokens = Set.copyOf(excludedTopTokens);
  }

  /** Every quirk kept. */
  public static DebuggerOptions faithful() {
    return new DebuggerOptions(false, false, Set.of());
  }

  public DebuggerOptions withExcludeBottomK(boolean value) {
    return new DebuggerOptions(value, clampTokensAttendedTo, excludedTopTokens);
  }

  public DebuggerOptions withClampTokensAttendedTo(boolean value) {
    return new DebuggerOptions(excludeBottomK, value, excludedTopTokens);
  }

  public DebuggerOptions withExcludedTopTokens(Set<Integer> value) {
    return new DebuggerOptions(excludeBottomK, clampTokensAttendedTo, value);
  }
}
