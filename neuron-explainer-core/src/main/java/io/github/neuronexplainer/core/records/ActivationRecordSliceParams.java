package io.github.neuronexplainer.core.records;

/**
 * How many records each split gets; {@code null} means "as many as divide evenly". Immutable.
 *
 * @param nExamplesPerSplit records per split, or {@code null}
 */
public record ActivationRecordSliceParams(Integer nExamplesPerSplit) {
  public ActivationRecordSliceParams {
    if (nExamplesPerSplit != null && nExamplesPerSplit < 0) {
      throw new IllegalArgumentException(
          "nExamplesPerSplit must be >= 0, got " + nExamplesPerSplit);
    }
  }
}
