package io.github.neuronexplainer.core.autoencoder;

import io.github.neuronexplainer.core.locations.NodeType;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Several autoencoder families at once, one per latent node type (the original's {@code
 * MultiAutoencoderContext}), e.g. an MLP autoencoder and an attention autoencoder. This is what the
 * derived-scalar engine ({@code DstConfig}) reads; implementations (e.g. the models module's
 * autoencoder registry) only provide {@link #contextsByNodeType()}.
 *
 * <p>Implementations must be immutable and thread-safe (given thread-safe contexts).
 */
public interface MultiAutoencoderContext {

  /** The contexts by latent node type, in a stable order. */
  Map<NodeType, AutoencoderContext> contextsByNodeType();

  /**
   * The context for {@code nodeType}: null or AUTOENCODER_LATENT asks for the single context (which
   * must exist); otherwise the context of that node type, or null if absent.
   *
   * @throws IllegalStateException when the single context is asked for but there are several
   */
  default AutoencoderContext autoencoderContext(NodeType nodeType) {
    if (nodeType == null || nodeType == NodeType.AUTOENCODER_LATENT) {
      return singleAutoencoderContext();
    }
    return contextsByNodeType().get(nodeType);
  }

  /**
   * @throws IllegalStateException unless there is exactly one context
   */
  default AutoencoderContext singleAutoencoderContext() {
    Map<NodeType, AutoencoderContext> contexts = contextsByNodeType();
    if (contexts.size() != 1) {
      throw new IllegalStateException(
          "Expected exactly one autoencoder context (generic AUTOENCODER_LATENT DSTs need a"
              + " single autoencoder), but there are "
              + contexts.size()
              + ": "
              + contexts.keySet()
              + ". Use the MLP_/ATTENTION_ specific DSTs instead.");
    }
    return contexts.values().iterator().next();
  }

  /**
   * An immutable multi-context over {@code contexts}.
   *
   * @throws IllegalArgumentException if two contexts have the same node type or none is given
   */
  static MultiAutoencoderContext of(Iterable<? extends AutoencoderContext> contexts) {
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
    Map<NodeType, AutoencoderContext> view = Collections.unmodifiableMap(byType);
    return () -> view;
  }
}
