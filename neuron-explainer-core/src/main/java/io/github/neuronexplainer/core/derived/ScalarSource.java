package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;
import java.util.Objects;

/**
 * An input of a {@link ScalarDeriver}: a raw activation or another deriver's output, read at a
 * fixed pass type through a layer indexer. Immutable and thread-safe.
 */
sealed interface ScalarSource permits ScalarSource.Raw, ScalarSource.Derived {

  PassType passType();

  LayerIndexer layerIndexer();

  /** The raw activations (location, pass) this source needs, in order (may repeat). */
  List<RawActivationKey> requiredRawActivations();

  /** Evaluates the source on {@code raw} (before layer indexing). */
  ActivationsAndMetadata evaluate(RawActivationStore raw, NDManager manager);

  /** The layer a static indexer reads (for precedence checks). */
  default int layerIndex() {
    return layerIndexer().staticLayerIndex();
  }

  /** A raw activation at a fixed pass type. */
  record Raw(ActivationLocationType location, PassType passType, LayerIndexer layerIndexer)
      implements ScalarSource {
    public Raw {
      Objects.requireNonNull(location, "location");
      Objects.requireNonNull(passType, "passType");
      Objects.requireNonNull(layerIndexer, "layerIndexer");
      if (location.hasNoLayers() && !(layerIndexer instanceof LayerIndexer.NoLayers)) {
        throw new IllegalArgumentException(
            location + " has no layers, so its source must use LayerIndexer.NO_LAYERS");
      }
    }

    /** Identity indexer for layered locations, NoLayers for layer-less ones. */
    public static Raw of(ActivationLocationType location, PassType passType) {
      return new Raw(
          location,
          passType,
          location.hasNoLayers() ? LayerIndexer.NO_LAYERS : LayerIndexer.IDENTITY);
    }

    @Override
    public List<RawActivationKey> requiredRawActivations() {
      return List.of(new RawActivationKey(location, passType));
    }

    @Override
    public ActivationsAndMetadata evaluate(RawActivationStore raw, NDManager manager) {
      return raw.get(location, passType);
    }
  }

  /** Another deriver evaluated at a fixed pass type. */
  record Derived(ScalarDeriver deriver, PassType passType, LayerIndexer layerIndexer)
      implements ScalarSource {
    public Derived {
      Objects.requireNonNull(deriver, "deriver");
      Objects.requireNonNull(passType, "passType");
      Objects.requireNonNull(layerIndexer, "layerIndexer");
    }

    public static Derived of(ScalarDeriver deriver, PassType passType) {
      return new Derived(deriver, passType, LayerIndexer.IDENTITY);
    }

    @Override
    public List<RawActivationKey> requiredRawActivations() {
      return deriver.requiredRawActivations();
    }

    @Override
    public ActivationsAndMetadata evaluate(RawActivationStore raw, NDManager manager) {
      return deriver.deriveFromRaw(raw, passType, manager);
    }
  }
}
