package io.github.neuronexplainer.core.records;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Neuron-indexed activation data: summary statistics, a random sample and the top-activating
 * records, with the original's interleaved train / calibration / valid / test splits. Immutable and
 * thread-safe.
 *
 * @param neuronId which neuron (or head, or latent)
 * @param randomSample random activation records
 * @param randomSampleByQuantile random samples per quantile, or {@code null}
 * @param quantileBoundaries quantile boundaries, or {@code null}
 * @param mean activation mean ({@code null} when unknown; NaN is written as {@code null})
 * @param variance activation variance, or {@code null}
 * @param skewness activation skewness, or {@code null}
 * @param kurtosis activation kurtosis, or {@code null}
 * @param mostPositiveActivationRecords top-activating records, most positive first
 */
public record NeuronRecord(
    NeuronId neuronId,
    List<ActivationRecord> randomSample,
    List<List<ActivationRecord>> randomSampleByQuantile,
    List<Double> quantileBoundaries,
    Double mean,
    Double variance,
    Double skewness,
    Double kurtosis,
    List<ActivationRecord> mostPositiveActivationRecords)
    implements FastDataclass {

  private static final List<String> TOP_SPLITS = List.of("train", "calibration", "valid", "test");
  private static final List<String> RANDOM_SPLITS = List.of("calibration", "valid", "test");

  public NeuronRecord {
    Objects.requireNonNull(neuronId, "neuronId");
    randomSample = List.copyOf(randomSample == null ? List.of() : randomSample);
    randomSampleByQuantile =
        randomSampleByQuantile == null
            ? null
            : randomSampleByQuantile.stream().map(List::copyOf).toList();
    quantileBoundaries = quantileBoundaries == null ? null : List.copyOf(quantileBoundaries);
    mostPositiveActivationRecords =
        List.copyOf(
            mostPositiveActivationRecords == null ? List.of() : mostPositiveActivationRecords);
  }

  /** A record with only an id and top-activating records (statistics NaN, no random sample). */
  public static NeuronRecord of(
      NeuronId id, List<ActivationRecord> top, List<ActivationRecord> random) {
    return new NeuronRecord(
        id, random, null, null, Double.NaN, Double.NaN, Double.NaN, Double.NaN, top);
  }

  /**
   * The largest raw activation over the top-activating records (no ReLU; can be negative).
   *
   * @throws IllegalStateException if there are no top-activating records
   */
  public double maxActivation() {
    if (mostPositiveActivationRecords.isEmpty()) {
      throw new IllegalStateException(
          "max() arg is an empty sequence: NeuronRecord "
              + neuronId
              + " has no most_positive_activation_records");
    }
    double max = Double.NEGATIVE_INFINITY;
    for (ActivationRecord r : mostPositiveActivationRecords) {
      double recordMax = Double.NEGATIVE_INFINITY;
      for (Number n : r.activations()) {
        recordMax = Math.max(recordMax, n.doubleValue());
      }
      if (r.activations().isEmpty()) {
        throw new IllegalStateException(
            "max() arg is an empty sequence: a top record has no activations");
      }
      max = Math.max(max, recordMax);
    }
    return max;
  }

  /** Train split: top records 0, 4, 8, ... (top records only). */
  public List<ActivationRecord> trainActivationRecords(ActivationRecordSliceParams params) {
    return topSlices(params).get("train").apply(mostPositiveActivationRecords);
  }

  /** Calibration split: top records 1, 5, ... then random records 0, 3, ... */
  public List<ActivationRecord> calibrationActivationRecords(ActivationRecordSliceParams params) {
    return split("calibration", params);
  }

  /** Validation split: top records 2, 6, ... then random records 1, 4, ... */
  public List<ActivationRecord> validActivationRecords(ActivationRecordSliceParams params) {
    return split("valid", params);
  }

  /** Test split: top records 3, 7, ... then random records 2, 5, ... */
  public List<ActivationRecord> testActivationRecords(ActivationRecordSliceParams params) {
    return split("test", params);
  }

  private List<ActivationRecord> split(String name, ActivationRecordSliceParams params) {
    List<ActivationRecord> out =
        new ArrayList<>(topSlices(params).get(name).apply(mostPositiveActivationRecords));
    out.addAll(randomSlices(params).get(name).apply(randomSample));
    return List.copyOf(out);
  }

  private Map<String, Slice> topSlices(ActivationRecordSliceParams params) {
    return slicesFor(
        TOP_SPLITS,
        params,
        mostPositiveActivationRecords.size(),
        "most_positive_activation_records");
  }

  private Map<String, Slice> randomSlices(ActivationRecordSliceParams params) {
    return slicesFor(RANDOM_SPLITS, params, randomSample.size(), "random_sample");
  }

  private static Map<String, Slice> slicesFor(
      List<String> splits, ActivationRecordSliceParams params, int available, String what) {
    int n =
        params.nExamplesPerSplit() == null ? available / splits.size() : params.nExamplesPerSplit();
    if (available < n * splits.size()) {
      throw new IllegalArgumentException(
          "Need "
              + n * splits.size()
              + " "
              + what
              + " for "
              + n
              + " examples per split, but the record has "
              + available
              + "; lower n_examples_per_split");
    }
    return Slice.forSplits(splits, n);
  }

  @Override
  public String dataclassName() {
    return "NeuronRecord";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("neuron_id", neuronId);
    m.put("random_sample", randomSample);
    m.put("random_sample_by_quantile", randomSampleByQuantile);
    m.put("quantile_boundaries", quantileBoundaries);
    m.put("mean", mean);
    m.put("variance", variance);
    m.put("skewness", skewness);
    m.put("kurtosis", kurtosis);
    m.put("most_positive_activation_records", mostPositiveActivationRecords);
    return m;
  }
}
