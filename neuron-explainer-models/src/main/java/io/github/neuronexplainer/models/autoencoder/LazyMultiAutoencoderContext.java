package io.github.neuronexplainer.models.autoencoder;

import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.NodeType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Several autoencoder contexts at once, one per latent node type (the original's {@code
 * MultiAutoencoderContext}), e.g. an MLP and an attention autoencoder family: the core interface
 * the derived-scalar engine reads, plus loading ({@link #warmup()}) and closing.
 *
 * <p>Thread-safety: immutable; as thread-safe as its contexts. {@link #close()} closes the contexts
 * that are {@link AutoCloseable}.
 */
public final class LazyMultiAutoencoderContext
    implements io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LazyMultiAutoencoderContext.class);

  private final Map<NodeType, AutoencoderContext> byNodeType;

  private LazyMultiAutoencoderContext(Map<NodeType, AutoencoderContext> byNodeType) {
    this.byNodeType = Collections.unmodifiableMap(byNodeType);
  }

  /**
   * The original's {@code from_autoencoder_context_list}.
   *
   * @throws IllegalArgumentException if two contexts have the same node type (e.g. two MLP
   *     autoencoder families), or the list is empty
   */
  public static LazyMultiAutoencoderContext of(List<? extends AutoencoderContext> contexts) {
    if (contexts.isEmpty()) {
      throw new IllegalArgumentException("A MultiAutoencoderContext needs at least one context");
    }
    Map<NodeType, AutoencoderContext> map = new LinkedHashMap<>();
    List<NodeType> nodeTypes = new ArrayList<>();
    for (AutoencoderContext c : contexts) {
      nodeTypes.add(c.nodeType());
    }
    for (AutoencoderContext c : contexts) {
      if (map.put(c.nodeType(), c) != null) {
        throw new IllegalArgumentException(
            "Cannot load two autoencoders with the same node type ("
                + nodeTypes
                + "); combine at most one MLP and one attention autoencoder family");
      }
    }
    return new LazyMultiAutoencoderContext(map);
  }

  public static LazyMultiAutoencoderContext of(AutoencoderContext... contexts) {
    return of(List.of(contexts));
  }

  /** The contexts by node type, in the order given. */
  @Override
  public Map<NodeType, AutoencoderContext> contextsByNodeType() {
    return byNodeType;
  }

  /**
   * The autoencoder of {@code layer} in the context of {@code nodeType}.
   *
   * @throws IllegalArgumentException if there is no context of that node type
   */
  public SparseAutoencoder autoencoder(int layer, NodeType nodeType) {
    AutoencoderContext context = autoencoderContext(nodeType);
    if (context == null) {
      throw new IllegalArgumentException(
          "No autoencoder context for " + nodeType + "; have " + byNodeType.keySet());
    }
    return context.autoencoder(layer);
  }

  /**
   * Loads all autoencoders of all contexts ({@link LazyAutoencoderContext#warmup()}, which also
   * omits dead latents if configured; other contexts have each layer's autoencoder fetched).
   */
  public void warmup() {
    for (Map.Entry<NodeType, AutoencoderContext> e : byNodeType.entrySet()) {
      LOG.info("Warming up autoencoder {}", e.getKey());
      if (e.getValue() instanceof LazyAutoencoderContext lazy) {
        lazy.warmup();
      } else {
        e.getValue().layers().forEach(e.getValue()::autoencoder);
      }
    }
  }

  /** Closes the contexts that are {@link AutoCloseable}. */
  @Override
  public void close() {
    RuntimeException first = null;
    for (AutoencoderContext c : byNodeType.values()) {
      if (c instanceof AutoCloseable closeable) {
        try {
          closeable.close();
        } catch (Exception e) {
          if (first == null) {
            first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
          }
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }

  @Override
  public String toString() {
    return "MultiAutoencoderContext" + byNodeType;
  }
}
