package io.github.neuronexplainer.core.records;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Python {@code slice(start, stop, step)} with non-negative bounds and a positive step.
 * Immutable.
 *
 * @param start first index
 * @param stop exclusive end
 * @param step stride
 */
public record Slice(int start, int stop, int step) {
  public Slice {
    if (step <= 0 || start < 0 || stop < 0) {
      throw new IllegalArgumentException(
          "Slice needs start, stop >= 0 and step > 0: " + start + ":" + stop + ":" + step);
    }
  }

  /** The indices of {@code range(length)[this]}. */
  public List<Integer> indices(int length) {
    List<Integer> out = new ArrayList<>();
    for (int i = start; i < Math.min(stop, length); i += step) {
      out.add(i);
    }
    return out;
  }

  /** Applies the slice to a list, like Python's {@code list[start:stop:step]}. */
  public <T> List<T> apply(List<T> list) {
    List<T> out = new ArrayList<>();
    for (int i : indices(list.size())) {
      out.add(list.get(i));
    }
    return out;
  }

  /**
   * {@code get_slices_for_splits}: split {@code s} gets {@code slice(s, n*len(splits),
   * len(splits))}.
   */
  public static Map<String, Slice> forSplits(List<String> splits, int perSplit) {
    int stride = splits.size();
    Map<String, Slice> out = new LinkedHashMap<>();
    for (int i = 0; i < splits.size(); i++) {
      out.put(splits.get(i), new Slice(i, perSplit * stride, stride));
    }
    checkSlices(out, perSplit * stride);
    return out;
  }

  /** {@code _check_slices}: the slices must be disjoint and cover the interleaved range. */
  public static void checkSlices(Map<String, Slice> slicesBySplit, int expectedNumValues) {
    Set<Integer> indices = new TreeSet<>();
    int sumOfLengths = 0;
    for (Slice s : slicesBySplit.values()) {
      List<Integer> sub = s.indices(expectedNumValues);
      sumOfLengths += sub.size();
      indices.addAll(sub);
    }
    if (sumOfLengths != expectedNumValues) {
      throw new IllegalStateException(
          "sum_of_slice_lengths=" + sumOfLengths + " != expected_num_values=" + expectedNumValues);
    }
    Set<Integer> expected = new LinkedHashSet<>();
    int stride = slicesBySplit.size();
    for (int s = 0; s < stride; s++) {
      for (int i = s; i < expectedNumValues; i += stride) {
        expected.add(i);
      }
    }
    if (!indices.equals(new TreeSet<>(expected))) {
      throw new IllegalStateException(
          "indices=" + indices + " != expected_indices=" + new TreeSet<>(expected));
    }
  }
}
