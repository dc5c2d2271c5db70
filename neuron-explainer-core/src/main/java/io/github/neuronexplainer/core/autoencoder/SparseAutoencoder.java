package io.github.neuronexplainer.core.autoencoder;

import ai.djl.ndarray.NDArray;

/**
 * A sparse autoencoder as the derived-scalar engine sees it: {@code latents = act(encoder(x −
 * preBias) + latentBias)}, {@code reconstruction = decoder(latents) + preBias}. Results of the
 * operations are attached to the manager of their input.
 *
 * <p>Implementations are immutable after loading and safe for concurrent use.
 */
public interface SparseAutoencoder {
  int nInputs();

  int nLatents();

  /** Latent pre-activations {@code encoder(x − preBias) + latentBias}, {@code [..., nLatents]}. */
  NDArray encodePreActivation(NDArray x);

  /** Latents {@code act(encodePreActivation(x))}. */
  NDArray encode(NDArray x);

  /** Reconstruction {@code decoder(latents) + preBias}, {@code [..., nInputs]}. */
  NDArray decode(NDArray latents);

  /** The activation applied to pre-activations (ReLU, Identity, TopK...). */
  NDArray activation(NDArray preActivation);

  /** Encoder weight {@code [nLatents, nInputs]} (an nn.Linear weight), a new handle. */
  NDArray encoderWeight(ai.djl.ndarray.NDManager manager);

  /** Decoder weight {@code [nInputs, nLatents]}, a new handle. */
  NDArray decoderWeight(ai.djl.ndarray.NDManager manager);

  /** {@code [nInputs]}, a new handle. */
  NDArray preBias(ai.djl.ndarray.NDManager manager);

  /** {@code [nLatents]}, a new handle. */
  NDArray latentBias(ai.djl.ndarray.NDManager manager);
}
