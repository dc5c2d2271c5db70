package io.github.neuronexplainer.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import java.util.EnumMap;
import java.util.Map;

/**
 * A model context that only knows dimension sizes, for tests of shape logic (the original's {@code
 * StubModelContext}). Weights and tokenization throw. Immutable and thread-safe.
 */
public final class StubModelContext implements ModelContext {
  private final Map<Dimension, Integer> sizes;

  public StubModelContext(Map<Dimension, Integer> sizes) {
    this.sizes = Map.copyOf(new EnumMap<>(sizes));
  }

  @Override
  public String modelName() {
    return "stub";
  }

  @Override
  public int dimensionSize(Dimension dimension) {
    Integer size = sizes.get(dimension);
    if (size == null) {
      throw new UnsupportedOperationException("Stub model context has no size for " + dimension);
    }
    return size;
  }

  @Override
  public NDArray getWeight(WeightLocationType location, int layer, NDManager manager) {
    throw new UnsupportedOperationException("Stub model context has no weights");
  }

  @Override
  public double layerNormEpsilon() {
    throw new UnsupportedOperationException("Stub model context has no layer norms");
  }

  @Override
  public int[] encode(String text) {
    throw new UnsupportedOperationException("Stub model context has no tokenizer");
  }

  @Override
  public String decodeToken(int token) {
    throw new UnsupportedOperationException("Stub model context has no tokenizer");
  }

  @Override
  public String decode(int[] tokens) {
    throw new UnsupportedOperationException("Stub model context has no tokenizer");
  }
}
