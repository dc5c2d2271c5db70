package io.github.neuronexplainer.core.derived.indexing;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Shared helpers of the index records. */
final class IndexChecks {
  private IndexChecks() {}

  /** An unmodifiable copy that keeps null entries (null = "all" along that dimension). */
  static List<Integer> copyWithNulls(List<Integer> indices) {
    if (indices == null) {
      throw new IllegalArgumentException("tensorIndices must not be null; use an empty list");
    }
    return Collections.unmodifiableList(new ArrayList<>(indices));
  }

  static int countNonNull(List<Integer> indices) {
    int n = 0;
    for (Integer i : indices) {
      if (i != null) {
        n++;
      }
    }
    return n;
  }
}
