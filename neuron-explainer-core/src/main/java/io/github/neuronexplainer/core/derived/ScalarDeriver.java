package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.LocationWithinLayer;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Computes one DST from raw activations (the original's {@code ScalarDeriver}): sources, a
 * per-layer tensor function and the config it was built with. Build them with {@link
 * ScalarDerivers#makeScalarDeriver}; combine them with the transform methods.
 *
 * <p>Evaluation (§2.1): the first source fixes the layer set; every source is layer-indexed,
 * filtered to {@code config.layerIndices()} (the layer-less key is always kept), and the tensor
 * function is applied per layer. The requested pass type is <em>not</em> propagated to sources:
 * each keeps its own. Consequently transform wrappers whose function ignores the pass type return
 * forward values labelled BACKWARD (quirk Q1, faithful: the goldens depend on it).
 *
 * <p>Immutable and thread-safe; evaluation allocates only in the caller's manager and scope.
 */
public final class ScalarDeriver {
  private final DerivedScalarType dst;
  private final DstConfig config;
  private final List<ScalarSource> sources;
  private final TensorFunction tensorFunction;
  private final LocationWithinLayer specifiedLocation;

  ScalarDeriver(
      DerivedScalarType dst,
      DstConfig config,
      List<ScalarSource> sources,
      TensorFunction tensorFunction,
      LocationWithinLayer specifiedLocation) {
    this.dst = Objects.requireNonNull(dst, "dst");
    this.config = Objects.requireNonNull(config, "config");
    this.sources = List.copyOf(sources);
    if (this.sources.isEmpty()) {
      throw new IllegalArgumentException(dst + ": a deriver needs at least one source");
    }
    this.tensorFunction = Objects.requireNonNull(tensorFunction, "tensorFunction");
    this.specifiedLocation = specifiedLocation;
  }

  ScalarDeriver(
      DerivedScalarType dst,
      DstConfig config,
      List<ScalarSource> sources,
      TensorFunction tensorFunction) {
    this(dst, config, sources, tensorFunction, null);
  }

  public DerivedScalarType dst() {
    return dst;
  }

  public DstConfig config() {
    return config;
  }

  List<ScalarSource> sources() {
    return sources;
  }

  /** FORWARD, plus BACKWARD when the config derives gradients. */
  public List<PassType> derivablePassTypes() {
    return config.derivablePassTypes();
  }

  /** The distinct raw (location, pass) pairs needed, in first-use order. */
  public List<RawActivationKey> requiredRawActivations() {
    LinkedHashSet<RawActivationKey> keys = new LinkedHashSet<>();
    for (ScalarSource source : sources) {
      keys.addAll(source.requiredRawActivations());
    }
    return new ArrayList<>(keys);
  }

  /**
   * The consensus of the location specified at construction and the one implied by the DST and
   * config; empty if neither knows.
   *
   * @throws IllegalStateException if both are known and differ
   */
  public Optional<LocationWithinLayer> location() {
    Optional<LocationWithinLayer> fromDst = DeriverSupport.locationForDst(dst, config);
    if (specifiedLocation != null && fromDst.isPresent() && fromDst.get() != specifiedLocation) {
      throw new IllegalStateException(
          dst + ": specified location " + specifiedLocation + " != DST location " + fromDst.get());
    }
    return specifiedLocation != null ? Optional.of(specifiedLocation) : fromDst;
  }

  /**
   * Evaluates this deriver for {@code passType}; new tensors are created in {@code manager} or
   * attached to the inputs' managers, so call it inside an {@link ai.djl.ndarray.NDScope} (as
   * {@link DerivedScalarStore#deriveFromRaw} does).
   */
  public ActivationsAndMetadata deriveFromRaw(
      RawActivationStore raw, PassType passType, NDManager manager) {
    List<ActivationsAndMetadata> inputs = new ArrayList<>();
    List<Integer> desired = null;
    for (ScalarSource source : sources) {
      ActivationsAndMetadata evaluated = source.evaluate(raw, manager);
      ActivationsAndMetadata indexed =
          evaluated.applyLayerIndexer(source.layerIndexer(), desired, manager);
      if (desired == null) {
        desired = indexed.layerIndices();
      }
      if (indexed.isEmpty()) {
        throw new IllegalStateException(
            dst + ": source " + evaluated + " has no layers; capture it in the forward pass");
      }
      inputs.add(indexed.filterLayers(config.layerIndices()));
    }
    ActivationsAndMetadata.requireSameLayers(inputs, dst);
    Map<Integer, NDArray> out = new LinkedHashMap<>();
    for (int layer : inputs.get(0).activationsByLayer().keySet()) {
      List<NDArray> tensors = new ArrayList<>(inputs.size());
      for (ActivationsAndMetadata input : inputs) {
        tensors.add(input.get(layer));
      }
      out.put(layer, tensorFunction.apply(tensors, layer, passType));
    }
    return new ActivationsAndMetadata(dst, passType, out);
  }

  /** A deriver of {@code newDst} applying {@code f} to this deriver's FORWARD output per layer. */
  public ScalarDeriver applyLayerwiseTransform(DerivedScalarType newDst, TensorFunction f) {
    return new ScalarDeriver(
        newDst,
        config,
        List.of(ScalarSource.Derived.of(this, PassType.FORWARD)),
        f,
        location().orElse(null));
  }

  /** Like {@link #applyLayerwiseTransform} with an elementwise function of the single tensor. */
  public ScalarDeriver applyTransform(
      DerivedScalarType newDst, java.util.function.UnaryOperator<NDArray> f) {
    return applyLayerwiseTransform(newDst, (inputs, layer, pass) -> f.apply(inputs.get(0)));
  }

  /**
   * A deriver of {@code newDst} whose function gets this deriver's FORWARD output and {@code
   * other}'s tensor at each layer.
   */
  ScalarDeriver applyLayerwiseTransformWithOther(
      DerivedScalarType newDst, ScalarSource other, TensorFunction f) {
    return new ScalarDeriver(
        newDst,
        config,
        List.of(ScalarSource.Derived.of(this, PassType.FORWARD), other),
        f,
        location().orElse(null));
  }

  @Override
  public String toString() {
    return "ScalarDeriver[" + dst + ", sources " + sources.size() + "]";
  }
}
