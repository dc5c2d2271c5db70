package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BiPredicate;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Derived scalars of one token sequence by (DST, pass type) and layer (the original's {@code
 * DerivedScalarStore}). A store made by {@link #deriveFromRaw} owns its tensors and frees them on
 * {@link #close()}; filtered stores are views that share the tensors (closing a view frees nothing,
 * and a view must not be used after its owner is closed).
 *
 * <p>Immutable after construction; reads may run concurrently.
 */
public final class DerivedScalarStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DerivedScalarStore.class);

  /** A (DST, pass type) key. */
  public record Key(DerivedScalarType dst, PassType passType) {
    @Override
    public String toString() {
      return dst + "/" + passType.value();
    }
  }

  private final Map<Key, ActivationsAndMetadata> entries;
  private final NDManager ownedManager;

  private DerivedScalarStore(Map<Key, ActivationsAndMetadata> entries, NDManager ownedManager) {
    this.entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
    this.ownedManager = ownedManager;
  }

  /**
   * Evaluates every deriver for each of its derivable pass types. Each derivation runs in its own
   * {@link NDScope}; only the results survive, in a new sub-manager of {@code parent} owned by the
   * returned store.
   *
   * @throws IllegalArgumentException if two derivers have the same DST
   * @throws UnsupportedDerivationException if a deriver cannot compute a pass type
   */
  public static DerivedScalarStore deriveFromRaw(
      RawActivationStore raw, List<ScalarDeriver> derivers, NDManager parent) {
    Set<DerivedScalarType> seen = new LinkedHashSet<>();
    for (ScalarDeriver deriver : derivers) {
      if (!seen.add(deriver.dst())) {
        throw new IllegalArgumentException("Two derivers for " + deriver.dst());
      }
    }
    NDManager manager = parent.newSubManager();
    Map<Key, ActivationsAndMetadata> entries = new LinkedHashMap<>();
    try {
      for (ScalarDeriver deriver : derivers) {
        for (PassType passType : deriver.derivablePassTypes()) {
          long start = System.nanoTime();
          entries.put(new Key(deriver.dst(), passType), deriveOne(raw, deriver, passType, manager));
          LOG.debug(
              "Derived {}/{} in {} us",
              deriver.dst(),
              passType.value(),
              (System.nanoTime() - start) / 1000);
        }
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
    return new DerivedScalarStore(entries, manager);
  }

  /**
   * As {@link #deriveFromRaw(RawActivationStore, List, NDManager)} under the raw store's parent.
   */
  public static DerivedScalarStore deriveFromRaw(
      RawActivationStore raw, List<ScalarDeriver> derivers) {
    return deriveFromRaw(raw, derivers, raw.manager().getParentManager());
  }

  private static ActivationsAndMetadata deriveOne(
      RawActivationStore raw, ScalarDeriver deriver, PassType passType, NDManager manager) {
    Map<Integer, NDArray> kept = new LinkedHashMap<>();
    // Identity, not NDArray.equals (which compares contents).
    Set<NDArray> keptArrays =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    try (NDScope scope = new NDScope();
        NDManager scratch = manager.newSubManager()) {
      ActivationsAndMetadata result = deriver.deriveFromRaw(raw, passType, scratch);
      result
          .activationsByLayer()
          .forEach(
              (layer, array) -> {
                // Raw tensors and tensors shared by several layers (fill-ins) get their own copy.
                NDArray own =
                    raw.owns(array) || keptArrays.contains(array) ? array.duplicate() : array;
                keptArrays.add(own);
                keptArrays.add(array);
                NDScope.unregister(own);
                own.attach(manager);
                kept.put(layer, own);
              });
    }
    return new ActivationsAndMetadata(deriver.dst(), passType, kept);
  }

  /** A store from existing maps (e.g. deserialized); it does not own their tensors. */
  public static DerivedScalarStore fromList(List<ActivationsAndMetadata> list) {
    return fromList(list, null);
  }

  /**
   * A store from existing maps that takes ownership of {@code owner} (closed by {@link #close()};
   * null: the store owns nothing), e.g. the manager the maps' tensors were created in.
   *
   * @throws IllegalArgumentException if two maps have the same DST and pass type
   */
  public static DerivedScalarStore fromList(List<ActivationsAndMetadata> list, NDManager owner) {
    Map<Key, ActivationsAndMetadata> entries = new LinkedHashMap<>();
    for (ActivationsAndMetadata am : list) {
      if (entries.put(new Key(am.dst(), am.passType()), am) != null) {
        throw new IllegalArgumentException(
            "Duplicate entry "
                + am.dst()
                + "/"
                + am.passType().value()
                + ": a store holds one map per DST and pass type");
      }
    }
    return new DerivedScalarStore(entries, owner);
  }

  public Map<Key, ActivationsAndMetadata> entries() {
    return entries;
  }

  /**
   * @throws IllegalArgumentException if the store has no such entry
   */
  public ActivationsAndMetadata get(DerivedScalarType dst, PassType passType) {
    ActivationsAndMetadata am = entries.get(new Key(dst, passType));
    if (am == null) {
      throw new IllegalArgumentException(
          "The store has no " + dst + "/" + passType.value() + "; it has " + entries.keySet());
    }
    return am;
  }

  public boolean contains(DerivedScalarType dst, PassType passType) {
    return entries.containsKey(new Key(dst, passType));
  }

  /** The DSTs in first-insertion order. */
  public Set<DerivedScalarType> dsts() {
    Set<DerivedScalarType> dsts = new LinkedHashSet<>();
    entries.keySet().forEach(k -> dsts.add(k.dst()));
    return dsts;
  }

  public Set<NodeType> nodeTypes() {
    Set<NodeType> types = new LinkedHashSet<>();
    entries.keySet().forEach(k -> types.add(k.dst().nodeType()));
    return types;
  }

  public Set<PassType> passTypes() {
    Set<PassType> types = new LinkedHashSet<>();
    entries.keySet().forEach(k -> types.add(k.passType()));
    return types;
  }

  /** A view with the entries for which {@code keep(dst, pass)} holds. */
  public DerivedScalarStore filter(BiPredicate<DerivedScalarType, PassType> keep) {
    Map<Key, ActivationsAndMetadata> kept = new LinkedHashMap<>();
    entries.forEach(
        (key, am) -> {
          if (keep.test(key.dst(), key.passType())) {
            kept.put(key, am);
          }
        });
    return new DerivedScalarStore(kept, null);
  }

  public DerivedScalarStore filterDsts(Collection<DerivedScalarType> dsts) {
    return filter((dst, pass) -> dsts.contains(dst));
  }

  /** Keeps one pass type (fixed; the original's {@code filter_pass_type} is a no-op, quirk Q4). */
  public DerivedScalarStore filterPassType(PassType passType) {
    return filter((dst, pass) -> pass == passType);
  }

  public DerivedScalarStore filterNodeTypes(Collection<NodeType> nodeTypes) {
    return filter((dst, pass) -> nodeTypes.contains(dst.nodeType()));
  }

  /** Keeps the given layers (plus layer-less keys) of every entry; null keeps all. */
  public DerivedScalarStore filterLayers(List<Integer> layers) {
    Map<Key, ActivationsAndMetadata> kept = new LinkedHashMap<>();
    entries.forEach((key, am) -> kept.put(key, am.filterLayers(layers)));
    return new DerivedScalarStore(kept, null);
  }

  /** Total number of scalars over every entry and pass type. */
  public long numel() {
    long n = 0;
    for (ActivationsAndMetadata am : entries.values()) {
      n += am.numel();
    }
    return n;
  }

  /**
   * The original's {@code DerivedScalarStore.topk}, faithful (quirk Q4): for each DST (after the
   * {@code dsts} filter; {@code layerIndices} is ignored as in the original, and every DST must
   * have an entry for {@code passType}), that DST's top (or bottom) k; all of them merged and
   * sorted <em>descending</em> whatever {@code largest} is. With several DSTs this returns more
   * than k scalars. {@code k == null} means all.
   *
   * @throws IllegalArgumentException if a DST has no entry for {@code passType} (the original's
   *     KeyError)
   */
  public ActivationsAndMetadata.TopK topkLikeOriginal(
      Integer k,
      PassType passType,
      Collection<DerivedScalarType> dsts,
      List<Integer> layerIndices,
      boolean largest) {
    if (k != null && k < 0) {
      throw new IllegalArgumentException("topk k must be >= 0 (or null for all), got " + k);
    }
    DerivedScalarStore pre = this;
    if (layerIndices != null) {
      pre = pre.filterLayers(layerIndices);
    }
    if (dsts != null) {
      pre = pre.filterDsts(dsts);
    }
    int effectiveK = k == null ? (int) Math.min(Integer.MAX_VALUE, pre.numel()) : k;
    List<ActivationsAndMetadata.Scalar> merged = new ArrayList<>();
    List<DerivedScalarIndex> mergedIndices = new ArrayList<>();
    for (DerivedScalarType dst : pre.dsts()) {
      ActivationsAndMetadata.TopK perDst = get(dst, passType).topk(effectiveK, largest);
      float[] values = perDst.values();
      for (int i = 0; i < values.length; i++) {
        merged.add(new ActivationsAndMetadata.Scalar(values[i], 0, mergedIndices.size()));
        mergedIndices.add(perDst.indices().get(i));
      }
    }
    merged.sort(ActivationsAndMetadata.scalarOrder(true));
    return toTopK(merged, mergedIndices, merged.size());
  }

  /**
   * The k largest FORWARD scalars over every DST: {@link #topk(int, PassType, Collection, List,
   * boolean)}.
   */
  public ActivationsAndMetadata.TopK topk(int k) {
    return topk(k, PassType.FORWARD, null, null, true);
  }

  /**
   * {@link #topkLikeOriginal(Integer, PassType, Collection, List, boolean)} of every DST, FORWARD,
   * largest.
   */
  public ActivationsAndMetadata.TopK topkLikeOriginal(Integer k) {
    return topkLikeOriginal(k, PassType.FORWARD, null, null, true);
  }

  /**
   * The top-k (quirk Q4 fixed): the global k best scalars over the selected DSTs of {@code
   * passType} (null: all; DSTs without that pass are skipped), honouring {@code layerIndices}
   * (null: all), ordered by {@code largest}; ties keep the lowest positions. The original's
   * version, which can return more than k, is {@link #topkLikeOriginal}.
   */
  public ActivationsAndMetadata.TopK topk(
      int k,
      PassType passType,
      Collection<DerivedScalarType> dsts,
      List<Integer> layerIndices,
      boolean largest) {
    if (k < 0) {
      throw new IllegalArgumentException("topk k must be >= 0, got " + k);
    }
    List<ActivationsAndMetadata.Scalar> merged = new ArrayList<>();
    List<DerivedScalarIndex> mergedIndices = new ArrayList<>();
    for (Map.Entry<Key, ActivationsAndMetadata> e : entries.entrySet()) {
      if (e.getKey().passType() != passType || (dsts != null && !dsts.contains(e.getKey().dst()))) {
        continue;
      }
      ActivationsAndMetadata.TopK perDst = e.getValue().filterLayers(layerIndices).topk(k, largest);
      float[] values = perDst.values();
      for (int i = 0; i < values.length; i++) {
        merged.add(new ActivationsAndMetadata.Scalar(values[i], 0, mergedIndices.size()));
        mergedIndices.add(perDst.indices().get(i));
      }
    }
    merged.sort(ActivationsAndMetadata.scalarOrder(largest));
    return toTopK(merged, mergedIndices, Math.min(k, merged.size()));
  }

  private static ActivationsAndMetadata.TopK toTopK(
      List<ActivationsAndMetadata.Scalar> sorted, List<DerivedScalarIndex> indices, int n) {
    float[] values = new float[n];
    List<DerivedScalarIndex> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      values[i] = sorted.get(i).value();
      out.add(indices.get((int) sorted.get(i).flatIndex()));
    }
    return new ActivationsAndMetadata.TopK(values, out);
  }

  /** The largest FORWARD scalar among DSTs of {@code nodeType} (null = all), with its index. */
  public ActivationsAndMetadata.TopK max(NodeType nodeType, List<Integer> layerIndices) {
    List<DerivedScalarType> dsts = new ArrayList<>();
    for (DerivedScalarType dst : dsts()) {
      if (nodeType == null || dst.nodeType() == nodeType) {
        dsts.add(dst);
      }
    }
    ActivationsAndMetadata.TopK all =
        topkLikeOriginal(1, PassType.FORWARD, dsts, layerIndices, true);
    if (all.values().length == 0) {
      throw new IllegalArgumentException(
          "No FORWARD scalar of node type "
              + (nodeType == null ? "any" : nodeType)
              + " in "
              + this);
    }
    return new ActivationsAndMetadata.TopK(
        new float[] {all.values()[0]}, List.of(all.indices().get(0)));
  }

  /**
   * Sum of every scalar of DSTs of {@code nodeType} (null = all) over the given layers (null = all;
   * honoured here, unlike in topk) and over every pass type.
   */
  public double sum(NodeType nodeType, List<Integer> layerIndices) {
    return sum(nodeType, layerIndices, null).scalar();
  }

  public double sumAbs(NodeType nodeType, List<Integer> layerIndices) {
    return sumAbs(nodeType, layerIndices, null).scalar();
  }

  public long numNonzero(NodeType nodeType, List<Integer> layerIndices) {
    return Math.round(numNonzero(nodeType, layerIndices, null).scalar());
  }

  /**
   * The original's {@code sum(node_type, layer_indices, dims_to_keep)}: every tensor of the DSTs of
   * {@code nodeType} (null = all), over the given layers (null = all) and every pass type, summed
   * over all its dimensions but {@code dimsToKeep}, and the results added up. The kept dimensions
   * come out in the DSTs' shape-spec order. {@code dimsToKeep} null sums everything (a
   * 0-dimensional result); an empty list too. Accumulated in double precision.
   *
   * @throws IllegalArgumentException if {@code dimsToKeep} is given and the selected DSTs have
   *     different shape specs, a kept dimension is not in their shape spec or is repeated, or
   *     nothing is selected; or if the kept dimensions differ in size between tensors (e.g. two
   *     prompts' stores mixed)
   * @throws IllegalStateException if a tensor's rank is not its DST's (a store whose shapes were
   *     changed by {@link #map})
   */
  public SummedScalars sum(
      NodeType nodeType, List<Integer> layerIndices, List<Dimension> dimsToKeep) {
    return reduceKeeping(nodeType, layerIndices, dimsToKeep, x -> x);
  }

  /** {@link #sum(NodeType, List, List)} of the absolute values (the original's {@code sum_abs}). */
  public SummedScalars sumAbs(
      NodeType nodeType, List<Integer> layerIndices, List<Dimension> dimsToKeep) {
    return reduceKeeping(nodeType, layerIndices, dimsToKeep, NDArray::abs);
  }

  /** {@link #sum(NodeType, List, List)} of {@code x != 0} (the original's {@code num_nonzero}). */
  public SummedScalars numNonzero(
      NodeType nodeType, List<Integer> layerIndices, List<Dimension> dimsToKeep) {
    return reduceKeeping(
        nodeType, layerIndices, dimsToKeep, x -> x.neq(0).toType(DataType.FLOAT64, false));
  }

  private SummedScalars reduceKeeping(
      NodeType nodeType,
      List<Integer> layerIndices,
      List<Dimension> dimsToKeep,
      UnaryOperator<NDArray> elementwise) {
    checkActivationNdims();
    DerivedScalarStore selected =
        (nodeType == null ? this : filterNodeTypes(List.of(nodeType))).filterLayers(layerIndices);
    List<Dimension> kept = List.of();
    if (dimsToKeep != null && !dimsToKeep.isEmpty()) {
      Set<List<Dimension>> specs = new LinkedHashSet<>();
      selected.dsts().forEach(dst -> specs.add(dst.shapeSpecPerTokenSequence()));
      if (specs.isEmpty()) {
        throw new IllegalArgumentException(
            "Nothing to sum keeping "
                + dimsToKeep
                + ": no DST of node type "
                + nodeType
                + " in "
                + this);
      }
      if (specs.size() > 1) {
        throw new IllegalArgumentException(
            "Cannot keep "
                + dimsToKeep
                + " across DSTs with different shape specs "
                + specs
                + " ("
                + selected.dsts()
                + "); sum one DST at a time (filterDsts)");
      }
      List<Dimension> spec = specs.iterator().next();
      for (Dimension dim : dimsToKeep) {
        if (!spec.contains(dim) || dimsToKeep.indexOf(dim) != dimsToKeep.lastIndexOf(dim)) {
          throw new IllegalArgumentException(
              "Cannot keep "
                  + dimsToKeep
                  + ": each must appear once in the DSTs' shape spec "
                  + spec);
        }
      }
      kept = spec.stream().filter(dimsToKeep::contains).toList();
    }
    List<Dimension> keep = kept;
    long[] shape = null;
    double[] total = null;
    for (Map.Entry<Key, ActivationsAndMetadata> e : selected.entries.entrySet()) {
      List<Dimension> spec = e.getKey().dst().shapeSpecPerTokenSequence();
      int[] discard =
          java.util.stream.IntStream.range(0, spec.size())
              .filter(d -> !keep.contains(spec.get(d)))
              .toArray();
      for (NDArray tensor : e.getValue().activationsByLayer().values()) {
        try (NDScope scope = new NDScope()) {
          NDArray x = elementwise.apply(tensor.toType(DataType.FLOAT64, true));
          if (discard.length > 0) {
            x = x.sum(discard);
          }
          long[] s = x.getShape().getShape();
          double[] values = x.toType(DataType.FLOAT64, false).toDoubleArray();
          if (total == null) {
            shape = s;
            total = values;
          } else if (!java.util.Arrays.equals(shape, s)) {
            throw new IllegalArgumentException(
                "Cannot add sums of shape "
                    + java.util.Arrays.toString(shape)
                    + " and "
                    + java.util.Arrays.toString(s)
                    + " ("
                    + e.getKey()
                    + "): the kept dimensions "
                    + kept
                    + " differ in size between tensors");
          } else {
            for (int i = 0; i < total.length; i++) {
              total[i] += values[i];
            }
          }
        }
      }
    }
    if (total == null) {
      if (!kept.isEmpty()) {
        throw new IllegalArgumentException(
            "Nothing to sum keeping "
                + kept
                + ": the selection (node type "
                + nodeType
                + ", layers "
                + layerIndices
                + ") has no tensors");
      }
      return new SummedScalars(kept, new long[0], new double[] {0});
    }
    return new SummedScalars(kept, shape, total);
  }

  private void checkActivationNdims() {
    entries.forEach(
        (key, am) -> {
          for (NDArray tensor : am.activationsByLayer().values()) {
            if (tensor.getShape().dimension() != key.dst().ndimPerTokenSequence()) {
              throw new IllegalStateException(
                  key
                      + " tensor has shape "
                      + tensor.getShape()
                      + " but the DST has "
                      + key.dst().ndimPerTokenSequence()
                      + " dimensions "
                      + key.dst().shapeSpecPerTokenSequence()
                      + "; sums need the DSTs' own shapes (not a store reshaped by map)");
            }
          }
        });
  }

  /**
   * The largest absolute FORWARD scalar among DSTs of {@code nodeType} (null = all), with its index
   * (the original's {@code max_abs}: {@link #max} of the absolute values, so the value is {@code
   * |x|}; like the faithful topk it ignores {@code layerIndices}, quirk Q4).
   */
  public ActivationsAndMetadata.TopK maxAbs(NodeType nodeType, List<Integer> layerIndices) {
    NDManager parent = anyTensor().getManager();
    try (NDManager scratch = parent.newSubManager();
        DerivedScalarStore abs = map(NDArray::abs, scratch)) {
      return abs.max(nodeType, layerIndices);
    }
  }

  private NDArray anyTensor() {
    for (ActivationsAndMetadata am : entries.values()) {
      if (!am.isEmpty()) {
        return am.activationsByLayer().values().iterator().next();
      }
    }
    throw new IllegalArgumentException("The store has no scalars: " + this);
  }

  /**
   * {@code fn} applied to every tensor (the original's {@code apply_transform_fn_to_activations}).
   * The result owns a new sub-manager of {@code parent}; close it. Each layer runs in its own
   * {@link NDScope}.
   */
  public DerivedScalarStore map(UnaryOperator<NDArray> fn, NDManager parent) {
    return combine(List.of(), (inputs, layer, pass) -> fn.apply(inputs.get(0)), parent);
  }

  /**
   * {@code fn} applied entry by entry and layer by layer to this store's tensor and the others'
   * tensors at the same key and layer, in that order (the original's {@code
   * apply_transform_fn_to_multiple_activations}). The result owns a new sub-manager of {@code
   * parent}.
   *
   * @throws IllegalArgumentException if another store has other (DST, pass type) keys or layers
   */
  public DerivedScalarStore combine(
      List<DerivedScalarStore> others, TensorFunction fn, NDManager parent) {
    for (DerivedScalarStore other : others) {
      if (!other.entries.keySet().equals(entries.keySet())) {
        throw new IllegalArgumentException(
            "Cannot combine stores with different entries: "
                + entries.keySet()
                + " vs "
                + other.entries.keySet()
                + "; filter both to the same DSTs and pass types first");
      }
    }
    NDManager manager = parent.newSubManager();
    List<ActivationsAndMetadata> out = new ArrayList<>();
    try {
      for (Map.Entry<Key, ActivationsAndMetadata> e : entries.entrySet()) {
        List<ActivationsAndMetadata> sources = new ArrayList<>();
        others.forEach(other -> sources.add(other.entries.get(e.getKey())));
        out.add(
            e.getValue().combine(sources, fn, e.getKey().dst(), e.getKey().passType(), manager));
      }
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
    return fromList(out, manager);
  }

  /**
   * Entry- and layerwise sum (the original's {@code __add__}); owns a sub-manager of {@code
   * parent}.
   */
  public DerivedScalarStore add(DerivedScalarStore other, NDManager parent) {
    return combine(List.of(other), (in, layer, pass) -> in.get(0).add(in.get(1)), parent);
  }

  /** Entry- and layerwise difference this − other (the original's {@code __sub__}). */
  public DerivedScalarStore subtract(DerivedScalarStore other, NDManager parent) {
    return combine(List.of(other), (in, layer, pass) -> in.get(0).sub(in.get(1)), parent);
  }

  /** Elementwise mean of this store and {@code others} (the original's {@code average}). */
  public DerivedScalarStore average(List<DerivedScalarStore> others, NDManager parent) {
    return combine(
        others, (in, layer, pass) -> NDArrays.stack(new NDList(in)).mean(new int[] {0}), parent);
  }

  /**
   * Exact equality of contents: the same (DST, pass type) keys, and for each the same layers,
   * shapes, data types and values ({@link ActivationsAndMetadata#contentEquals}). Not {@code
   * equals}: stores compare by identity.
   */
  public boolean contentEquals(DerivedScalarStore other) {
    return compare(other, ActivationsAndMetadata::contentEquals);
  }

  /**
   * The original's {@code __eq__} with explicit tolerances: the same keys, layers and shapes, and
   * {@code |a − b| ≤ atol + rtol·|b|} everywhere ({@link ActivationsAndMetadata#allClose}).
   */
  public boolean allClose(DerivedScalarStore other, double rtol, double atol) {
    return compare(other, (a, b) -> a.allClose(b, rtol, atol));
  }

  private boolean compare(
      DerivedScalarStore other, BiPredicate<ActivationsAndMetadata, ActivationsAndMetadata> same) {
    if (!entries.keySet().equals(other.entries.keySet())) {
      return false;
    }
    for (Map.Entry<Key, ActivationsAndMetadata> e : entries.entrySet()) {
      if (!same.test(e.getValue(), other.entries.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The scalar(s) at {@code index} as a new float array (row-major; one element for a full index).
   *
   * @throws IllegalArgumentException if the DST, pass or layer is absent, or the index has more
   *     tensor indices than the DST has dimensions or one outside its dimension (the message names
   *     the valid range)
   */
  public float[] get(DerivedScalarIndex index) {
    NDArray tensor = checkIndex(index);
    StringBuilder spec = new StringBuilder();
    for (Integer i : index.tensorIndices()) {
      if (spec.length() > 0) {
        spec.append(',');
      }
      spec.append(i == null ? ":" : i.toString());
    }
    if (spec.length() == 0) {
      return tensor.toFloatArray();
    }
    try (NDManager scratch = tensor.getManager().newSubManager()) {
      NDArray slice = tensor.get(new NDIndex(spec.toString()));
      slice.attach(scratch);
      return slice.toType(DataType.FLOAT32, false).toFloatArray();
    }
  }

  /** One scalar per full index, in order. */
  public float[] getScalars(List<DerivedScalarIndex> indices) {
    float[] out = new float[indices.size()];
    for (int i = 0; i < out.length; i++) {
      float[] values = get(indices.get(i));
      if (values.length != 1) {
        throw new IllegalArgumentException(indices.get(i) + " does not name a single scalar");
      }
      out[i] = values[0];
    }
    return out;
  }

  /**
   * The only DST of {@code nodeType} in this store.
   *
   * @throws IllegalArgumentException unless exactly one DST has that node type
   */
  public DerivedScalarType dstForNodeType(NodeType nodeType) {
    List<DerivedScalarType> matches = new ArrayList<>();
    for (DerivedScalarType dst : dsts()) {
      if (dst.nodeType() == nodeType) {
        matches.add(dst);
      }
    }
    if (matches.size() != 1) {
      throw new IllegalArgumentException(
          "Expected exactly one DST of node type " + nodeType + " in the store, found " + matches);
    }
    return matches.get(0);
  }

  /**
   * The index into this store's DST of each node's type (the original's {@code
   * get_ds_indices_for_node_indices}), each checked against the store (negative tensor indices
   * count from the end, as in torch).
   *
   * @throws IllegalArgumentException if a node's type has no single DST here, or its pass, layer or
   *     tensor indices are not in the store (the message names the valid range)
   */
  public List<DerivedScalarIndex> dsIndicesForNodeIndices(List<NodeIndex> nodeIndices) {
    List<DerivedScalarIndex> out = new ArrayList<>();
    for (NodeIndex node : nodeIndices) {
      DerivedScalarIndex index =
          DerivedScalarIndex.fromNodeIndex(node, dstForNodeType(node.nodeType()));
      checkIndex(index);
      out.add(index);
    }
    return out;
  }

  /** The tensor {@code index} points into, after checking every index against its shape. */
  private NDArray checkIndex(DerivedScalarIndex index) {
    NDArray tensor = get(index.dst(), index.passType()).get(index.layerIndex());
    long[] shape = tensor.getShape().getShape();
    List<Integer> indices = index.tensorIndices();
    List<Dimension> spec = index.dst().shapeSpecPerTokenSequence();
    if (indices.size() > shape.length) {
      throw new IllegalArgumentException(
          index
              + " has "
              + indices.size()
              + " tensor indices, but "
              + index.dst()
              + " has "
              + shape.length
              + " dimensions "
              + spec
              + " (shape "
              + tensor.getShape()
              + ")");
    }
    for (int d = 0; d < indices.size(); d++) {
      Integer i = indices.get(d);
      // Negative indices count from the end, as in the original (torch indexing): the debugger's
      // token index -1 is the last token.
      if (i != null && (i < -shape[d] || i >= shape[d])) {
        throw new IllegalArgumentException(
            index
                + ": "
                + (d < spec.size() ? spec.get(d).value() : "dimension " + d)
                + " index "
                + i
                + " is out of range; valid "
                + (-shape[d])
                + ".."
                + (shape[d] - 1)
                + " (negative indices count from the end)");
      }
    }
    return tensor;
  }

  public float[] derivedScalarsForNodeIndices(List<NodeIndex> nodeIndices) {
    return getScalars(dsIndicesForNodeIndices(nodeIndices));
  }

  /** Frees the tensors if this store owns them; a no-op for views. */
  @Override
  public void close() {
    if (ownedManager != null) {
      ownedManager.close();
    }
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("DerivedScalarStore[");
    entries.forEach(
        (key, am) -> sb.append(key).append(" layers ").append(am.layerIndices()).append("; "));
    return sb.append(']').toString();
  }
}
