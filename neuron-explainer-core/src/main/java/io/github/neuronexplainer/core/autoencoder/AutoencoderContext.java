package io.github.neuronexplainer.core.autoencoder;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import java.util.List;

/**
 * A family of autoencoders, one per layer, all reading the same activation location (the original's
 * {@code AutoencoderContext}). Implementations load lazily and must be thread-safe.
 */
public interface AutoencoderContext {
  /** The activation the autoencoders read (MLP_POST_ACT, RESID_DELTA_MLP, RESID_DELTA_ATTN...). */
  ActivationLocationType inputLocation();

  /**
   * The node type of the latents: {@link NodeType#MLP_AUTOENCODER_LATENT} for MLP inputs, {@link
   * NodeType#ATTENTION_AUTOENCODER_LATENT} for attention inputs, otherwise {@link
   * NodeType#AUTOENCODER_LATENT}.
   */
  NodeType nodeType();

  /** Layers that have an autoencoder, ascending. */
  List<Integer> layers();

  /** The autoencoder of {@code layer}, loaded on first use. */
  SparseAutoencoder autoencoder(int layer);

  /** Number of latents per autoencoder (after omitting dead latents, if configured). */
  int numAutoencoderDirections();
}
