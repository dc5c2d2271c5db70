package io.github.neuronexplainer.models.records;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import java.util.Objects;

/**
 * Which units {@link NeuronRecordCollector} makes records for, all in one layer: MLP neurons
 * ({@code MLP_POST_ACT}), attention heads (post-softmax attention probabilities, one value per
 * (from, to) token pair, flattened as the original's attention datasets are), or the latents of a
 * sparse autoencoder reading {@code input}.
 *
 * <p>Thread-safety: immutable (an autoencoder unit shares the autoencoder, whose encoding is
 * thread-safe).
 */
public sealed interface RecordUnits {
  /** The layer the units are in. */
  int layer();

  /** The MLP neurons of {@code layer}. */
  static RecordUnits mlpNeurons(int layer) {
    return new MlpNeurons(layer);
  }

  /** The attention heads of {@code layer}. */
  static RecordUnits attentionHeads(int layer) {
    return new AttentionHeads(layer);
  }

  /** The latents of {@code autoencoder}, which reads {@code input} at {@code layer}. */
  static RecordUnits autoencoderLatents(
      Autoencoder autoencoder, ActivationLocationType input, int layer) {
    return new AutoencoderLatents(autoencoder, input, layer);
  }

  /** MLP neurons. */
  record MlpNeurons(int layer) implements RecordUnits {}

  /** Attention heads; activations are per token pair. */
  record AttentionHeads(int layer) implements RecordUnits {}

  /** Autoencoder latents. */
  record AutoencoderLatents(Autoencoder autoencoder, ActivationLocationType input, int layer)
      implements RecordUnits {
    public AutoencoderLatents {
      Objects.requireNonNull(autoencoder, "autoencoder");
      Objects.requireNonNull(input, "input");
    }
  }
}
