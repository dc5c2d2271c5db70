package io.github.neuronexplainer.core.autoencoder;

import io.github.neuronexplainer.core.locations.NodeType;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Several autoencoder families at once, one per latent node type (the original's {@code
 * MultiAutoencoderContext}), e.g. an MLP autoencoder and an attention autoencoder.
 *
 * <p>Immutable and thread-safe (given thread-safe contexts).
 */
public final class MultiAutoencoderContext {
  private final Map<NodeType, AutoencoderContext> contextsByNodeType;

  /**
   * @throws IllegalArgumentException if two contexts have the same node type or none is given
   */
  public MultiAutoencoderContext(Iterable<AutoencoderContext> contexts) {
    Map<NodeType, AutoencoderContext> byType = new LinkedHashMap<>();
    for (AutoencoderContext context : contexts) {
      if (byType.put(context.nodeType(), context) != null) {
        throw new IllegalArgumentException(
            "Two autoencoder contexts have node type " + context.nodeType());
      }
    }
    if (byType.isEmpty()) {
      throw new IllegalArgumentException("A MultiAutoencoderContext needs at least one context");
    }
    this.contextsByNodeType = Collections.unmodifiableMap(byType);
  }

  public Map<NodeType, AutoencoderContext> contextsByNodeType() {
    return contextsByNodeType;
  }

  /**
   * The context for {@code nodeType}: null or AUTOENCODER_LATENT asks for the single context
   * (which must exist); otherwise the context of that node type, or null if absent.
   *
   * @throws IllegalStateException when the single context is asked for but there are several
   */
  public AutoencoderContext autoencoderContext(NodeType nodeType) {
    if (nodeType == null || nodeType == NodeType.AUTOENCODER_LATENT) {
      return singleAutoencoderContext();
    }
    return contextsByNodeType.get(nodeType);
  }

  /**
   * @throws IllegalStateException unless there is exactly one context
   */
  public AutoencoderContext singleAutoencoderContext() {
    if (contextsByNodeType.size() != 1) {
      throw new IllegalStateException(
          "Expected exactly one autoencoder context (generic AUTOENCODER_LATENT DSTs need a"
              + " single autoencoder), but there are "
              + contextsByNodeType.size()
              + ": "
              + contextsByNodeType.keySet()
              + ". Use the MLP_/ATTENTION_ specific DSTs instead.");
    }
    return contextsByNodeType.values().iterator().next();
  }
}
