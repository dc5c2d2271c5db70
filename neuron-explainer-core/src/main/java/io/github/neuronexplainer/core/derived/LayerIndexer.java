package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.locations.LayerIndex;
import java.util.ArrayList;
import java.util.List;

/**
 * Maps the layers a deriver produces to the layer each source is read from (the original's layer
 * indexers). An entry may be {@link #DUMMY}: no such source layer, read as a 0-dim zero.
 *
 * <p>All implementations are immutable and thread-safe.
 */
sealed interface LayerIndexer
    permits LayerIndexer.Identity,
        LayerIndexer.Offset,
        LayerIndexer.Constant,
        LayerIndexer.NoLayers {

  /** Marks a destination layer without a source layer. */
  int DUMMY = Integer.MIN_VALUE;

  /** The source layer per destination layer, in the same order. */
  List<Integer> sourceLayers(List<Integer> destinationLayers);

  /**
   * The single source layer of a static indexer.
   *
   * @throws UnsupportedOperationException for non-static indexers
   */
  default int staticLayerIndex() {
    throw new UnsupportedOperationException(this + " is not a static layer indexer");
  }

  /** The default: each layer reads the same layer. */
  Identity IDENTITY = new Identity();

  /** Every layer reads {@link LayerIndex#NONE} (for layer-less activations). */
  NoLayers NO_LAYERS = new NoLayers();

  /** Each layer reads itself. */
  record Identity() implements LayerIndexer {
    @Override
    public List<Integer> sourceLayers(List<Integer> destinationLayers) {
      return List.copyOf(destinationLayers);
    }
  }

  /**
   * Each layer reads {@code layer + offset}; as in the original the source must itself be one of
   * the destination layers, otherwise it is {@link #DUMMY} (quirk Q15, faithful: capture all
   * layers).
   */
  record Offset(int offset) implements LayerIndexer {
    @Override
    public List<Integer> sourceLayers(List<Integer> destinationLayers) {
      if (destinationLayers.contains(LayerIndex.NONE)) {
        throw new IllegalArgumentException("Offset layer indexer cannot index layer-less tensors");
      }
      List<Integer> sources = new ArrayList<>();
      for (int layer : destinationLayers) {
        int source = layer + offset;
        sources.add(destinationLayers.contains(source) ? source : DUMMY);
      }
      return sources;
    }
  }

  /** Every layer reads layer {@code layerIndex}. */
  record Constant(int layerIndex) implements LayerIndexer {
    @Override
    public List<Integer> sourceLayers(List<Integer> destinationLayers) {
      List<Integer> sources = new ArrayList<>();
      for (int i = 0; i < destinationLayers.size(); i++) {
        sources.add(layerIndex);
      }
      return sources;
    }

    @Override
    public int staticLayerIndex() {
      return layerIndex;
    }
  }

  /** Every layer reads the layer-less tensor. */
  record NoLayers() implements LayerIndexer {
    @Override
    public List<Integer> sourceLayers(List<Integer> destinationLayers) {
      List<Integer> sources = new ArrayList<>();
      for (int i = 0; i < destinationLayers.size(); i++) {
        sources.add(LayerIndex.NONE);
      }
      return sources;
    }

    @Override
    public int staticLayerIndex() {
      return LayerIndex.NONE;
    }
  }
}
