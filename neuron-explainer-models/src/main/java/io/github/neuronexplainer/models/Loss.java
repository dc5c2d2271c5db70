package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import java.util.function.Function;

/**
 * A scalar computed from the logits, to back-propagate from: the original's loss functions ({@code
 * LossFnConfig}: LOGIT_DIFF, LOGIT_MINUS_MEAN, PROBS, ZERO). The original supports one prompt; here
 * each loss is evaluated at every sequence's last non-pad token and summed over the batch, which is
 * the original's value for a batch of one.
 */
@FunctionalInterface
public interface Loss {
  /**
   * @param logits {@code [b, s, vocab]}
   * @param lastPositions per sequence, the index of its last non-pad token
   * @return a scalar
   */
  NDArray compute(NDArray logits, long[] lastPositions);

  /**
   * Mean logit of the targets minus mean logit of the distractors at the last token (no
   * distractors: the targets' mean logit). For one target and one distractor: {@code logits[0, -1,
   * target] − logits[0, -1, distractor]}.
   */
  static Loss logitDiff(int[] targetTokens, int[] distractorTokens) {
    requireTokens(targetTokens);
    int[] distractors = distractorTokens == null ? new int[0] : distractorTokens.clone();
    int[] targets = targetTokens.clone();
    return perSequence(
        row -> {
          NDArray value = meanAt(row, targets);
          return distractors.length == 0 ? value : value.sub(meanAt(row, distractors));
        });
  }

  /** {@link #logitDiff(int[], int[])} for one target and one distractor token. */
  static Loss logitDiff(int targetToken, int distractorToken) {
    return logitDiff(new int[] {targetToken}, new int[] {distractorToken});
  }

  /**
   * Mean logit of the targets minus the mean logit over the whole vocabulary, at the last token.
   */
  static Loss logitMinusMean(int[] targetTokens) {
    requireTokens(targetTokens);
    int[] targets = targetTokens.clone();
    return perSequence(row -> meanAt(row, targets).sub(row.mean()));
  }

  /** Summed probability of the targets at the last token. */
  static Loss probs(int[] targetTokens) {
    requireTokens(targetTokens);
    int[] targets = targetTokens.clone();
    return perSequence(row -> row.softmax(-1).get(new NDIndex("{}", indexOf(row, targets))).sum());
  }

  /**
   * {@code 0 · sum(logits)}: a backward pass that carries no gradient except what gradient editors
   * inject (the original's ZERO loss, used with backward ablations).
   */
  static Loss zero() {
    return (logits, last) -> logits.sum().mul(logits.getManager().create(0f));
  }

  private static Loss perSequence(Function<NDArray, NDArray> ofLastRow) {
    return (logits, last) -> {
      NDArray total = null;
      for (int b = 0; b < last.length; b++) {
        NDArray value = ofLastRow.apply(logits.get(new NDIndex("{}, {}", b, last[b])));
        total = total == null ? value : total.add(value);
      }
      return total;
    };
  }

  private static NDArray meanAt(NDArray row, int[] tokens) {
    return row.get(new NDIndex("{}", indexOf(row, tokens))).mean();
  }

  private static NDArray indexOf(NDArray row, int[] tokens) {
    long[] ids = new long[tokens.length];
    for (int i = 0; i < ids.length; i++) {
      if (tokens[i] < 0 || tokens[i] >= row.getShape().get(0)) {
        throw new IllegalArgumentException(
            "Loss token " + tokens[i] + " is outside the vocabulary of " + row.getShape().get(0));
      }
      ids[i] = tokens[i];
    }
    return row.getManager().create(ids);
  }

  private static void requireTokens(int[] tokens) {
    if (tokens == null || tokens.length == 0) {
      throw new IllegalArgumentException("The loss needs at least one target token");
    }
  }
}
