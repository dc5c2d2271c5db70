package io.github.neuronexplainer.debugger.postprocessing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.model.ModelContext;
import io.github.neuronexplainer.debugger.api.TokenAndScalar;
import io.github.neuronexplainer.debugger.api.TopTokens;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The original's {@code get_most_upvoted_and_downvoted_tokens_for_nodes} (tokens.py): per row of a
 * {@code [nodes, vocab]} score matrix, the k highest scores (descending) and the k lowest
 * (ascending), each with its token's text (decoded alone) and the score divided by the row's
 * largest |score| among the first of each list (0 when that is 0). With {@code flip} the two lists
 * are swapped without negating (the original's behaviour for a negative activation).
 *
 * <p>The original also hides the GPT-2 tokens of its {@code LEAST_COMMON_GPT2_TOKEN_STRS}; that
 * list is not in the reference sources, and the goldens were made with it empty, so nothing is
 * hidden unless {@code excludedTokens} names token ids to hide.
 *
 * <p>Immutable and thread-safe.
 */
public final class TopTokensFinder {
  private final ModelContext model;
  private final Set<Integer> excludedTokens;

  /** A finder that hides nothing (as the goldens). */
  public TopTokensFinder(ModelContext model) {
    this(model, Set.of());
  }

  /** A finder that never lists {@code excludedTokens}. */
  public TopTokensFinder(ModelContext model, Set<Integer> excludedTokens) {
    this.model = model;
    this.excludedTokens = Set.copyOf(excludedTokens);
  }

  /**
   * Top and bottom {@code k} tokens of every row of {@code scores} ({@code [nodes, vocab]}).
   *
   * @throws IllegalArgumentException if k is not in [1, vocab] or a selected score is not finite
   */
  public List<TopTokens> topTokens(NDArray scores, int k, boolean flip) {
    long vocab = scores.getShape().get(1);
    if (k < 1 || k > vocab) {
      throw new IllegalArgumentException("numTokens must be in [1, " + vocab + "], got " + k);
    }
    List<TopTokens> out = new ArrayList<>();
    try (NDManager scratch = scores.getManager().newSubManager()) {
      NDArray x = scores.toType(DataType.FLOAT32, true);
      x.attach(scratch);
      Selection top = select(x, k, true, scratch);
      Selection bottom = select(x, k, false, scratch);
      int rows = (int) scores.getShape().get(0);
      for (int r = 0; r < rows; r++) {
        double norm = Math.max(Math.abs(top.values[r * k]), Math.abs(bottom.values[r * k]));
        List<TokenAndScalar> up = toTokens(top, r, k, norm);
        List<TokenAndScalar> down = toTokens(bottom, r, k, norm);
        out.add(flip ? new TopTokens(down, up) : new TopTokens(up, down));
      }
    }
    return out;
  }

  private record Selection(float[] values, long[] ids) {}

  private Selection select(NDArray x, int k, boolean largest, NDManager scratch) {
    NDArray masked = x;
    if (!excludedTokens.isEmpty()) {
      masked = x.duplicate();
      float fill = largest ? Float.NEGATIVE_INFINITY : Float.POSITIVE_INFINITY;
      for (int id : excludedTokens) {
        masked.set(new ai.djl.ndarray.index.NDIndex(":, {}", id), fill);
      }
    }
    NDList result = masked.topK(k, 1, largest, true);
    result.attach(scratch);
    float[] values = result.get(0).toFloatArray();
    long[] ids = result.get(1).toType(DataType.INT64, false).toLongArray();
    for (float v : values) {
      if (!Float.isFinite(v)) {
        throw new IllegalArgumentException("Top token scores must be finite, got " + v);
      }
    }
    return new Selection(values, ids);
  }

  private List<TokenAndScalar> toTokens(Selection s, int row, int k, double norm) {
    List<TokenAndScalar> list = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      float value = s.values[row * k + i];
      // float32 division as in torch, then widened like tolist()
      float normalized = norm == 0 ? 0f : value / (float) norm;
      list.add(new TokenAndScalar(model.decodeToken((int) s.ids[row * k + i]), value, normalized));
    }
    return list;
  }
}
