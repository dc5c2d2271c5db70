package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;

/**
 * Adds the {@code ONLINE_*} raw activations of autoencoders spliced into the model (§1.6) to a raw
 * store that holds their input activations: latents {@code encode(x)}, errors {@code x −
 * decode(encode(x))}, and, where the input's gradient {@code gx} is stored, latent gradients {@code
 * gx·W_dec} and error gradients {@code gx}. This equals what hooks splicing {@code decode(z) +
 * error} into the forward pass record, because that splice is the identity.
 *
 * <p>Stateless and thread-safe.
 */
public final class OnlineAutoencoderActivations {
  private OnlineAutoencoderActivations() {}

  /**
   * Adds the online activations of every context; with exactly one context the latents are also
   * stored under the generic ONLINE_AUTOENCODER_LATENT.
   *
   * @throws IllegalArgumentException if an input activation is not in the store
   */
  public static void addTo(RawActivationStore raw, List<AutoencoderContext> contexts) {
    for (AutoencoderContext context : contexts) {
      ActivationLocationType input = context.inputLocation();
      ActivationLocationType latents = input.onlineAutoencoderLatentLocation();
      ActivationLocationType errors = input.onlineAutoencoderErrorLocation();
      boolean single = contexts.size() == 1;
      ActivationsAndMetadata x = raw.get(input, PassType.FORWARD);
      for (int layer : context.layers()) {
        SparseAutoencoder autoencoder = context.autoencoder(layer);
        NDArray z;
        NDArray error;
        try (NDScope scope = new NDScope()) {
          NDArray activation = x.get(layer);
          z = autoencoder.encode(activation);
          error = activation.sub(autoencoder.decode(z));
          NDScope.unregister(z, error);
        }
        raw.put(latents, PassType.FORWARD, layer, z);
        raw.put(errors, PassType.FORWARD, layer, error);
        if (single) {
          raw.put(ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.FORWARD, layer, z);
        }
      }
      if (!raw.contains(input, PassType.BACKWARD)) {
        continue;
      }
      ActivationsAndMetadata gx = raw.get(input, PassType.BACKWARD);
      for (int layer : gx.layerIndices()) {
        if (!context.layers().contains(layer)) {
          continue;
        }
        NDArray zGrad;
        NDArray errorGrad;
        try (NDScope scope = new NDScope()) {
          NDArray g = gx.get(layer);
          zGrad = g.matMul(context.autoencoder(layer).decoderWeight(g.getManager()));
          errorGrad = g.duplicate();
          NDScope.unregister(zGrad, errorGrad);
        }
        raw.put(latents, PassType.BACKWARD, layer, zGrad);
        raw.put(errors, PassType.BACKWARD, layer, errorGrad);
        if (single) {
          raw.put(
              ActivationLocationType.ONLINE_AUTOENCODER_LATENT, PassType.BACKWARD, layer, zGrad);
        }
      }
    }
  }
}
