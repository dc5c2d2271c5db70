package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Raw activations and gradients of one token sequence, by (location, pass type) and layer (the
 * original's {@code RawActivationStore}). Tensors have no batch dimension. The store owns its
 * tensors (they are attached to its manager) and frees them on {@link #close()}.
 *
 * <p>Fill it from one thread with {@link #put}; afterwards it may be read concurrently.
 */
public final class RawActivationStore implements AutoCloseable {
  private final NDManager manager;
  private final Map<RawActivationKey, Map<Integer, NDArray>> tensors = new LinkedHashMap<>();
  private final Set<NDArray> owned = Collections.newSetFromMap(new IdentityHashMap<>());

  /** A store whose tensors live in a new sub-manager of {@code parent}. */
  public RawActivationStore(NDManager parent) {
    this.manager = parent.newSubManager();
  }

  public NDManager manager() {
    return manager;
  }

  /**
   * Adds a tensor, attaching it to this store's manager.
   *
   * @throws IllegalArgumentException for a layer given to a layer-less location or the reverse, or
   *     a duplicate
   */
  public RawActivationStore put(
      ActivationLocationType location, PassType passType, int layer, NDArray tensor) {
    if (location.hasNoLayers() != (layer == LayerIndex.NONE)) {
      throw new IllegalArgumentException(
          location
              + " "
              + (location.hasNoLayers() ? "has no layers" : "needs a layer index")
              + "; got layer "
              + LayerIndex.format(layer));
    }
    Map<Integer, NDArray> byLayer =
        tensors.computeIfAbsent(new RawActivationKey(location, passType), k -> new TreeMap<>());
    if (byLayer.containsKey(layer)) {
      throw new IllegalArgumentException(
          "Duplicate raw activation " + location + "/" + passType.value() + " layer " + layer);
    }
    tensor.attach(manager);
    byLayer.put(layer, tensor);
    owned.add(tensor);
    return this;
  }

  /** Registers an empty entry (e.g. a gradient location the backward pass never reached). */
  public RawActivationStore putEmpty(ActivationLocationType location, PassType passType) {
    tensors.computeIfAbsent(new RawActivationKey(location, passType), k -> new TreeMap<>());
    return this;
  }

  public boolean contains(ActivationLocationType location, PassType passType) {
    return tensors.containsKey(new RawActivationKey(location, passType));
  }

  /** Whether {@code tensor} is one of this store's own arrays (identity). */
  public boolean owns(NDArray tensor) {
    return owned.contains(tensor);
  }

  public Set<RawActivationKey> keys() {
    return Collections.unmodifiableSet(tensors.keySet());
  }

  /**
   * The tensors of one location and pass, labelled with the location's DST.
   *
   * @throws IllegalArgumentException if the store does not have them
   */
  public ActivationsAndMetadata get(ActivationLocationType location, PassType passType) {
    Map<Integer, NDArray> byLayer = tensors.get(new RawActivationKey(location, passType));
    if (byLayer == null) {
      throw new IllegalArgumentException(
          "The raw activation store has no "
              + location
              + "/"
              + passType.value()
              + "; capture it in the "
              + passType.value()
              + " pass (stored: "
              + tensors.keySet()
              + ")");
    }
    return new ActivationsAndMetadata(
        DerivedScalarType.fromActivationLocationType(location), passType, byLayer);
  }

  @Override
  public void close() {
    manager.close();
  }
}
