package io.github.neuronexplainer.debugger.api;

import java.util.List;

/**
 * The loss a backward pass starts from (the original's {@code LossFnConfig}). Token strings must
 * each encode to exactly one token. LOGIT_DIFF: mean target logit minus mean distractor logit at
 * the last token (no distractors: the mean target logit); LOGIT_MINUS_MEAN: mean target logit minus
 * the mean logit (no distractors allowed); PROBS: summed target probability (no distractors); ZERO:
 * 0 (to inject gradients with backward ablations).
 *
 * <p>Immutable and thread-safe.
 */
public record LossFnConfig(
    LossFnName name, List<String> targetTokens, List<String> distractorTokens) {
  public LossFnConfig {
    Immutable.required(name, "name", "LossFnConfig");
    targetTokens = Immutable.list(targetTokens);
    distractorTokens = Immutable.list(distractorTokens);
  }

  /** LOGIT_DIFF of one target and one distractor token string. */
  public static LossFnConfig logitDiff(String target, String distractor) {
    return new LossFnConfig(LossFnName.LOGIT_DIFF, List.of(target), List.of(distractor));
  }
}
