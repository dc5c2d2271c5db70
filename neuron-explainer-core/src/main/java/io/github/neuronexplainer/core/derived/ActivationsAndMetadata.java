package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiPredicate;
import java.util.function.UnaryOperator;

/**
 * The tensors of one DST and pass type, one per layer (the original's {@code
 * ActivationsAndMetadata}); keys in insertion order, {@link LayerIndex#NONE} only alone.
 *
 * <p>Immutable as a map; it does not own the tensors (whoever created them closes them). Not safe
 * for concurrent use of the tensors' native memory while their owner closes it.
 */
public final class ActivationsAndMetadata {
  private final DerivedScalarType dst;
  private final PassType passType;
  private final Map<Integer, NDArray> activationsByLayer;

  public ActivationsAndMetadata(
      DerivedScalarType dst, PassType passType, Map<Integer, NDArray> activationsByLayer) {
    this.dst = Objects.requireNonNull(dst, "dst");
    this.passType = Objects.requireNonNull(passType, "passType");
    Map<Integer, NDArray> copy = new LinkedHashMap<>(activationsByLayer);
    if (copy.size() > 1 && copy.containsKey(LayerIndex.NONE)) {
      throw new IllegalArgumentException(
          dst + ": the layer-less key NONE cannot be mixed with layers " + copy.keySet());
    }
    this.activationsByLayer = Collections.unmodifiableMap(copy);
  }

  public DerivedScalarType dst() {
    return dst;
  }

  public PassType passType() {
    return passType;
  }

  /** Unmodifiable, in insertion order. */
  public Map<Integer, NDArray> activationsByLayer() {
    return activationsByLayer;
  }

  public boolean isEmpty() {
    return activationsByLayer.isEmpty();
  }

  /** The layer keys in numeric order. */
  public List<Integer> layerIndices() {
    return new ArrayList<>(new TreeSet<>(activationsByLayer.keySet()));
  }

  /**
   * @throws IllegalArgumentException if the layer is absent
   */
  public NDArray get(int layer) {
    NDArray array = activationsByLayer.get(layer);
    if (array == null) {
      throw new IllegalArgumentException(
          dst
              + "/"
              + passType.value()
              + " has no layer "
              + LayerIndex.format(layer)
              + "; layers: "
              + layerIndices());
    }
    return array;
  }

  /** Keeps the given layers plus the layer-less key; null keeps everything. */
  public ActivationsAndMetadata filterLayers(List<Integer> layers) {
    if (layers == null) {
      return this;
    }
    Map<Integer, NDArray> kept = new LinkedHashMap<>();
    activationsByLayer.forEach(
        (layer, array) -> {
          if (layer == LayerIndex.NONE || layers.contains(layer)) {
            kept.put(layer, array);
          }
        });
    return new ActivationsAndMetadata(dst, passType, kept);
  }

  /** The same tensors under another DST and pass type. */
  public ActivationsAndMetadata relabel(DerivedScalarType newDst, PassType newPassType) {
    return new ActivationsAndMetadata(newDst, newPassType, activationsByLayer);
  }

  /**
   * The original's {@code apply_layer_indexer} (§8.2), without its mutation of this map (quirk Q14
   * fixed): layers missing from this map read as zeros shaped like another layer (or the layer-less
   * tensor), DUMMY sources and an empty map read as 0-dim zeros created in {@code manager}.
   *
   * @param desired the destination layers; null = this map's own layers in numeric order
   */
  ActivationsAndMetadata applyLayerIndexer(
      LayerIndexer indexer, List<Integer> desired, NDManager manager) {
    List<Integer> destinations = desired == null ? layerIndices() : desired;
    List<Integer> sources = indexer.sourceLayers(destinations);
    Map<Integer, NDArray> result = new LinkedHashMap<>();
    if (activationsByLayer.isEmpty()) {
      for (int destination : destinations) {
        result.put(destination, manager.create(0f));
      }
      return new ActivationsAndMetadata(dst, passType, result);
    }
    Map<Integer, NDArray> filled = new LinkedHashMap<>(activationsByLayer);
    NDArray fillIn = null;
    if (filled.containsKey(LayerIndex.NONE)) {
      fillIn = filled.remove(LayerIndex.NONE);
    }
    for (int i = 0; i < destinations.size(); i++) {
      int source = sources.get(i);
      NDArray array;
      if (source == LayerIndexer.DUMMY) {
        array = manager.create(0f);
      } else if (filled.containsKey(source)) {
        array = filled.get(source);
      } else {
        if (fillIn == null) {
          fillIn = activationsByLayer.values().iterator().next().zerosLike();
        }
        filled.put(source, fillIn);
        array = fillIn;
      }
      result.put(destinations.get(i), array);
    }
    return new ActivationsAndMetadata(dst, passType, result);
  }

  /**
   * The shape of the first layer's tensor (every layer of a DST has the same shape).
   *
   * @throws IllegalStateException if the map is empty
   */
  public long[] shape() {
    if (activationsByLayer.isEmpty()) {
      throw new IllegalStateException(this + " is empty and has no shape");
    }
    return activationsByLayer.values().iterator().next().getShape().getShape();
  }

  /**
   * {@code fn} applied layer by layer (the original's {@code
   * apply_layerwise_transform_fn_to_multiple_activations}): its inputs are this map's tensor and
   * the others' tensors at the same layer, in that order. Each layer runs in its own {@link
   * NDScope}; only the results survive, attached to {@code manager} (the caller owns them; a result
   * that is one of the inputs is copied, so the inputs' owners are never affected).
   *
   * @throws IllegalArgumentException if another map has other layers
   */
  public ActivationsAndMetadata combine(
      List<ActivationsAndMetadata> others,
      TensorFunction fn,
      DerivedScalarType outDst,
      PassType outPassType,
      NDManager manager) {
    for (ActivationsAndMetadata other : others) {
      if (!other.activationsByLayer.keySet().equals(activationsByLayer.keySet())) {
        throw new IllegalArgumentException(
            "Cannot combine "
                + this
                + " with "
                + other
                + ": their layers differ; filter both to"
                + " the same layers first (filterLayers)");
      }
    }
    Map<Integer, NDArray> out = new LinkedHashMap<>();
    try {
      for (Map.Entry<Integer, NDArray> e : activationsByLayer.entrySet()) {
        int layer = e.getKey();
        List<NDArray> inputs = new ArrayList<>(1 + others.size());
        inputs.add(e.getValue());
        others.forEach(other -> inputs.add(other.activationsByLayer.get(layer)));
        try (NDScope scope = new NDScope()) {
          NDArray computed = fn.apply(inputs, layer, outPassType);
          NDArray result =
              inputs.stream().anyMatch(input -> input == computed)
                  ? computed.duplicate()
                  : computed;
          NDScope.unregister(result);
          result.attach(manager);
          out.put(layer, result);
        }
      }
    } catch (RuntimeException e) {
      out.values().forEach(NDArray::close);
      throw e;
    }
    return new ActivationsAndMetadata(outDst, outPassType, out);
  }

  /** {@code fn} applied to every layer's tensor, results in {@code manager}; same DST and pass. */
  public ActivationsAndMetadata map(UnaryOperator<NDArray> fn, NDManager manager) {
    return combine(
        List.of(), (inputs, layer, pass) -> fn.apply(inputs.get(0)), dst, passType, manager);
  }

  /** Layerwise sum (the original's {@code __add__}); this map's DST and pass type. */
  public ActivationsAndMetadata add(ActivationsAndMetadata other, NDManager manager) {
    return combine(
        List.of(other), (in, layer, pass) -> in.get(0).add(in.get(1)), dst, passType, manager);
  }

  /** Layerwise difference this − other (the original's {@code __sub__}). */
  public ActivationsAndMetadata subtract(ActivationsAndMetadata other, NDManager manager) {
    return combine(
        List.of(other), (in, layer, pass) -> in.get(0).sub(in.get(1)), dst, passType, manager);
  }

  /** Sum of every scalar over every layer, accumulated in double precision. */
  public double sum() {
    return reduceAll(x -> x.sum());
  }

  /** Sum of the absolute values of every scalar. */
  public double sumAbs() {
    return reduceAll(x -> x.abs().sum());
  }

  private double reduceAll(UnaryOperator<NDArray> reduction) {
    double total = 0;
    for (NDArray tensor : activationsByLayer.values()) {
      try (NDScope scope = new NDScope()) {
        total += reduction.apply(tensor.toType(DataType.FLOAT64, true)).getDouble();
      }
    }
    return total;
  }

  /** The largest scalar with its index (the original's {@code max}: {@code topk(1, true)}). */
  public TopK max() {
    return topk(1, true);
  }

  /**
   * Exact equality of contents: the same layers, and at each layer the same shape, data type and
   * values (NaN never equals anything). The DST and pass type are not compared, as in the
   * original's {@code __eq__}.
   */
  public boolean contentEquals(ActivationsAndMetadata other) {
    return compare(other, (a, b) -> a.getDataType() == b.getDataType() && a.contentEquals(b));
  }

  /**
   * The original's {@code __eq__} ({@code torch.allclose} per layer) with explicit tolerances: the
   * same layers and shapes, and {@code |a − b| ≤ atol + rtol·|b|} everywhere (NaN never close). The
   * DST and pass type are not compared.
   */
  public boolean allClose(ActivationsAndMetadata other, double rtol, double atol) {
    return compare(
        other,
        (a, b) -> {
          NDArray x = a.toType(DataType.FLOAT64, true);
          NDArray y = b.toType(DataType.FLOAT64, true);
          return x.sub(y).abs().lte(y.abs().mul(rtol).add(atol)).all().getBoolean();
        });
  }

  /**
   * {@link #allClose(ActivationsAndMetadata, double, double)} with torch's defaults (1e-5, 1e-8).
   */
  public boolean allClose(ActivationsAndMetadata other) {
    return allClose(other, 1e-5, 1e-8);
  }

  private boolean compare(ActivationsAndMetadata other, BiPredicate<NDArray, NDArray> sameValues) {
    if (!activationsByLayer.keySet().equals(other.activationsByLayer.keySet())) {
      return false;
    }
    for (Map.Entry<Integer, NDArray> e : activationsByLayer.entrySet()) {
      NDArray a = e.getValue();
      NDArray b = other.activationsByLayer.get(e.getKey());
      if (!a.getShape().equals(b.getShape())) {
        return false;
      }
      try (NDScope scope = new NDScope()) {
        if (!sameValues.test(a, b)) {
          return false;
        }
      }
    }
    return true;
  }

  /** Total number of elements over all layers. */
  public long numel() {
    long n = 0;
    for (NDArray array : activationsByLayer.values()) {
      n += array.size();
    }
    return n;
  }

  /**
   * The original's {@code ActivationsAndMetadata.topk} (§8.3): the k largest (or smallest) scalars
   * over all layers, sorted (descending if largest, else ascending). Ties are broken
   * deterministically by lower layer, then lower row-major position among the per-layer candidates
   * (quirk Q23 fixed; which of several equal values at a layer's selection boundary is a candidate
   * is up to libtorch); NaN counts as larger than +inf.
   *
   * @throws IllegalArgumentException if {@code k} is negative
   */
  public TopK topk(int k, boolean largest) {
    if (k < 0) {
      throw new IllegalArgumentException(
          "topk k must be >= 0 (k > numel() returns all " + numel() + " scalars), got " + k);
    }
    // Layers are independent native selections: run them concurrently (results are merged and
    // sorted deterministically below, so the order of completion does not matter).
    List<Scalar> candidates =
        layerIndices().parallelStream()
            .flatMap(layer -> layerTopK(get(layer), k, largest, layer).stream())
            .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
    candidates.sort(scalarOrder(largest));
    int n = Math.min(k, candidates.size());
    float[] values = new float[n];
    List<DerivedScalarIndex> indices = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Scalar s = candidates.get(i);
      values[i] = s.value;
      long[] shape = get(s.layer).getShape().getShape();
      indices.add(new DerivedScalarIndex(dst, unravel(s.flatIndex, shape), s.layer, passType));
    }
    return new TopK(values, indices);
  }

  /** The k best scalars of one layer (selected natively; all of them when k covers the tensor). */
  private static List<Scalar> layerTopK(NDArray tensor, int k, boolean largest, int layer) {
    List<Scalar> selected = new ArrayList<>();
    try (NDManager scratch = tensor.getManager().newSubManager()) {
      NDArray flat = tensor.toType(DataType.FLOAT32, false).flatten();
      flat.attach(scratch);
      long size = flat.size();
      if (k >= size) {
        float[] values = flat.toFloatArray();
        for (int i = 0; i < values.length; i++) {
          selected.add(new Scalar(values[i], layer, i));
        }
      } else {
        ai.djl.ndarray.NDList top = flat.topK(k, 0, largest, true);
        top.attach(scratch);
        float[] values = top.get(0).toFloatArray();
        long[] positions = top.get(1).toType(DataType.INT64, false).toLongArray();
        for (int i = 0; i < values.length; i++) {
          selected.add(new Scalar(values[i], layer, positions[i]));
        }
      }
    }
    return selected;
  }

  static java.util.Comparator<Scalar> scalarOrder(boolean largest) {
    java.util.Comparator<Scalar> byValue =
        (a, b) -> largest ? Float.compare(b.value, a.value) : Float.compare(a.value, b.value);
    return byValue
        .thenComparingInt((Scalar s) -> s.layer)
        .thenComparingLong((Scalar s) -> s.flatIndex);
  }

  static List<Integer> unravel(long flatIndex, long[] shape) {
    Integer[] indices = new Integer[shape.length];
    long rest = flatIndex;
    for (int d = shape.length - 1; d >= 0; d--) {
      indices[d] = (int) (rest % shape[d]);
      rest /= shape[d];
    }
    return List.of(indices);
  }

  /** One candidate scalar during top-k. */
  record Scalar(float value, int layer, long flatIndex) {}

  /** Top-k values (in order) with their indices. Immutable. */
  public record TopK(float[] values, List<DerivedScalarIndex> indices) {
    public TopK {
      values = values.clone();
      indices = List.copyOf(indices);
      if (values.length != indices.size()) {
        throw new IllegalArgumentException(
            values.length + " values but " + indices.size() + " indices in a top-k result");
      }
    }

    @Override
    public float[] values() {
      return values.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TopK other
          && java.util.Arrays.equals(values, other.values)
          && indices.equals(other.indices);
    }

    @Override
    public int hashCode() {
      return 31 * java.util.Arrays.hashCode(values) + indices.hashCode();
    }

    /** One entry per line: value, DST, layer, pass and tensor indices. */
    @Override
    public String toString() {
      StringBuilder sb = new StringBuilder("TopK[" + values.length + "]");
      for (int i = 0; i < values.length; i++) {
        DerivedScalarIndex index = indices.get(i);
        sb.append(
            String.format(
                java.util.Locale.ROOT,
                "%n  %+.6g  %s layer %s %s %s",
                values[i],
                index.dst(),
                io.github.neuronexplainer.core.locations.LayerIndex.format(index.layerIndex()),
                index.passType().value(),
                index.tensorIndices()));
      }
      return sb.toString();
    }
  }

  /** Layer keys of several maps must agree before a layerwise combination. */
  static void requireSameLayers(List<ActivationsAndMetadata> maps, DerivedScalarType outDst) {
    Set<Integer> first = maps.get(0).activationsByLayer.keySet();
    for (ActivationsAndMetadata other : maps) {
      if (!other.activationsByLayer.keySet().equals(first)) {
        throw new IllegalStateException(
            outDst
                + ": sources have different layers: "
                + first
                + " vs "
                + other.activationsByLayer.keySet()
                + " ("
                + other.dst
                + "/"
                + other.passType.value()
                + "); capture every layer of every source");
      }
    }
  }

  @Override
  public String toString() {
    return "ActivationsAndMetadata["
        + dst
        + "/"
        + passType.value()
        + ", layers "
        + layerIndices()
        + "]";
  }
}
