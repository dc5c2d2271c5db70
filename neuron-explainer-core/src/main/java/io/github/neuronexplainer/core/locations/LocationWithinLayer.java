package io.github.neuronexplainer.core.locations;

/**
 * Coarse position of a tensor within a layer, ordered from the start of the layer to its end; fine
 * enough to decide whether one node is upstream of another. Not serialized (as in the original).
 */
public enum LocationWithinLayer {
  END_OF_PREV_LAYER,
  ATTN,
  RESID_POST_ATTN,
  MLP,
  RESID_POST_MLP;

  /** The original's integer value (1-based, increasing through the layer). */
  public int value() {
    return ordinal() + 1;
  }
}
