package io.github.neuronexplainer.explanations.explainer;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.AttentionUtils;
import io.github.neuronexplainer.explanations.fewshot.AttentionTokenPairExample;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Token-pair rendering and top-pair selection for attention heads. "From" tokens are shown as
 * {@code [[tok]]}, "to" tokens as {@code **tok**}, both as {@code [[**tok**]]}. Stateless.
 */
public final class AttentionPairs {
  /** Separates sequences in the attention explainer prompt. */
  public static final String ATTENTION_SEQUENCE_SEPARATOR = "<|sequence_separator|>";

  private AttentionPairs() {}

  /**
   * A strongly activating pair.
   *
   * @param recordIndex which record
   * @param value its activation
   * @param from "from" token index
   * @param to "to" token index
   */
  public record TopPair(int recordIndex, double value, int from, int to) {}

  /** The sequence with the {@code (from, to)} pair marked. */
  public static String formatTokenPairString(List<String> tokens, int from, int to) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      if (i == from && i == to) {
        sb.append("[[**").append(t).append("**]]");
      } else if (i == from) {
        sb.append("[[").append(t).append("]]");
      } else if (i == to) {
        sb.append("**").append(t).append("**");
      } else {
        sb.append(t);
      }
    }
    return sb.toString();
  }

  /**
   * Every (example, pair) rendered and joined by the sequence separator, or, with {@code
   * omitZeros}, as {@code (to_token, from_token)} tuples joined by {@code ", "}.
   */
  public static String formatTokenPairs(
      List<AttentionTokenPairExample> examples, boolean omitZeros) {
    String separator = omitZeros ? ", " : "\n" + ATTENTION_SEQUENCE_SEPARATOR + "\n";
    List<String> perExample = new ArrayList<>();
    for (AttentionTokenPairExample e : examples) {
      List<String> parts = new ArrayList<>();
      for (int[] c : e.tokenPairCoordinates()) {
        parts.add(
            omitZeros
                ? "(" + e.tokens().get(c[1]) + ", " + e.tokens().get(c[0]) + ")"
                : formatTokenPairString(e.tokens(), c[0], c[1]));
      }
      // joined per example first, so an example without pairs still adds a separator, as upstream
      perExample.add(String.join(separator, parts));
    }
    return String.join(separator, perExample);
  }

  /**
   * Flat indices of one record ordered by value descending, exactly as {@code
   * np.argsort(acts)[::-1]} with numpy 1.24's default sort (so tied activations come out in the
   * original's order; NaN first).
   */
  public static List<Integer> argsortDescending(List<Number> activations) {
    double[] values = new double[activations.size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = activations.get(i).doubleValue();
    }
    int[] ascending = NumpyArgsort.argsort(values);
    List<Integer> out = new ArrayList<>(ascending.length);
    for (int i = ascending.length - 1; i >= 0; i--) {
      out.add(ascending[i]);
    }
    return out;
  }

  /**
   * The {@code topK} strongest pairs over all records (square flattening), value descending,
   * stable.
   */
  public static List<TopPair> topAttentionCoordinates(List<ActivationRecord> records, int topK) {
    List<TopPair> candidates = new ArrayList<>();
    for (int r = 0; r < records.size(); r++) {
      List<Number> acts = records.get(r).activations();
      List<Integer> order = argsortDescending(acts);
      for (int flat : order.subList(0, Math.min(topK, order.size()))) {
        int[] c = AttentionUtils.unflatten(flat);
        candidates.add(new TopPair(r, acts.get(flat).doubleValue(), c[0], c[1]));
      }
    }
    candidates.sort(Comparator.comparingDouble(TopPair::value).reversed());
    return List.copyOf(candidates.subList(0, Math.min(topK, candidates.size())));
  }
}
