package io.github.neuronexplainer.core.locations;

/**
 * Layer indices: a non-negative layer number, or {@link #NONE} for tensors that have no layer
 * (embeddings, final layer norm, logits), the original's {@code None}.
 */
public final class LayerIndex {
  /** The layer index of layer-less tensors. */
  public static final int NONE = -1;

  private LayerIndex() {}

  /** The original's string form: the number, or {@code "none"}. */
  public static String format(int layerIndex) {
    return layerIndex == NONE ? "none" : Integer.toString(layerIndex);
  }

  /** Parses {@code "none"}/{@code "None"}/null or a number. */
  public static int parse(String text) {
    if (text == null || text.equalsIgnoreCase("none")) {
      return NONE;
    }
    return Integer.parseInt(text);
  }
}
