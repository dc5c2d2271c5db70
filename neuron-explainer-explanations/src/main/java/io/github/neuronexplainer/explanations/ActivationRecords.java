package io.github.neuronexplainer.explanations;

import io.github.neuronexplainer.core.records.ActivationRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * Formatting of activation records for prompts ({@code activation_records.py}): normalisation to
 * 0–10, {@code token<TAB>value} lines, {@code <start>}/{@code <end>} framing and the {@code
 * unknown} placeholder. Stateless and thread-safe.
 */
public final class ActivationRecords {
  /** Placeholder for an activation the model must predict. */
  public static final String UNKNOWN_ACTIVATION_STRING = "unknown";

  private ActivationRecords() {}

  /** Python {@code max(0.0, x)}: NaN and -0.0 give 0.0 (unlike {@link Math#max}). */
  public static double relu(double x) {
    return x > 0.0 ? x : 0.0;
  }

  /**
   * The largest ReLU'd activation over all records (0.0 when nothing is positive).
   *
   * @throws IllegalArgumentException if there are no records or a record has no activations
   */
  public static double calculateMaxActivation(List<ActivationRecord> records) {
    if (records.isEmpty()) {
      throw new IllegalArgumentException(
          "max() arg is an empty sequence: no activation records given");
    }
    double max = Double.NEGATIVE_INFINITY;
    for (ActivationRecord r : records) {
      if (r.activations().isEmpty()) {
        throw new IllegalArgumentException(
            "max() arg is an empty sequence: a record has no activations");
      }
      double recordMax = Double.NEGATIVE_INFINITY;
      for (Number n : r.activations()) {
        recordMax = pythonMax(recordMax, relu(n.doubleValue()));
      }
      max = pythonMax(max, recordMax);
    }
    return max;
  }

  private static double pythonMax(double a, double b) {
    return b > a ? b : a;
  }

  /**
   * {@code min(10, floor((10 * relu(x)) / max))}, or all zeros when {@code max <= 0}.
   *
   * @throws ArithmeticException where Python raises (an infinite or NaN quotient)
   */
  public static int[] normalizeActivations(
      List<? extends Number> activations, double maxActivation) {
    int[] out = new int[activations.size()];
    if (maxActivation <= 0) {
      return out;
    }
    for (int i = 0; i < out.length; i++) {
      double q = (10 * relu(activations.get(i).doubleValue())) / maxActivation;
      out[i] = (int) Math.min(10, floorToLong(q));
    }
    return out;
  }

  /**
   * {@code max(min(10, trunc(10*x/max)), -10)}; all zeros when {@code max == 0}. Not used by the
   * pipeline.
   */
  public static int[] normalizeActivationsSymmetric(
      List<? extends Number> activations, double maxActivation) {
    int[] out = new int[activations.size()];
    if (maxActivation == 0.0) {
      return out;
    }
    for (int i = 0; i < out.length; i++) {
      double q = 10 * activations.get(i).doubleValue() / maxActivation;
      if (Double.isNaN(q)) {
        throw new ArithmeticException("cannot convert float NaN to integer");
      }
      if (Double.isInfinite(q)) {
        throw new ArithmeticException("cannot convert float infinity to integer");
      }
      out[i] = (int) Math.max(Math.min(10, (long) q), -10);
    }
    return out;
  }

  private static long floorToLong(double q) {
    if (Double.isNaN(q)) {
      throw new ArithmeticException("cannot convert float NaN to integer");
    }
    if (Double.isInfinite(q)) {
      throw new ArithmeticException("cannot convert float infinity to integer");
    }
    return (long) Math.floor(q);
  }

  /**
   * A copy with non-positive (and NaN) activations replaced by the int 0, as Python's {@code max(0,
   * x)}.
   */
  public static ActivationRecord truncateNegativeActivations(ActivationRecord record) {
    List<Number> out = new ArrayList<>();
    for (Number n : record.activations()) {
      out.add(n.doubleValue() > 0 ? n : (Number) 0L);
    }
    return new ActivationRecord(out, record.tokens());
  }

  /** {@link #truncateNegativeActivations} for each record. */
  public static List<ActivationRecord> truncateNegativeActivations(List<ActivationRecord> records) {
    return records.stream().map(ActivationRecords::truncateNegativeActivations).toList();
  }

  /**
   * One record as {@code token\tvalue} lines; values before {@code startIndex} (or all, when {@code
   * hideActivations}) are {@code unknown}; with {@code omitZeros} only non-zero lines are kept.
   */
  public static String formatActivationRecord(
      ActivationRecord record,
      double maxActivation,
      boolean omitZeros,
      boolean hideActivations,
      int startIndex) {
    List<String> tokens = record.tokens();
    int[] normalized = normalizeActivations(record.activations(), maxActivation);
    if (omitZeros) {
      if (hideActivations || startIndex != 0) {
        throw new IllegalArgumentException("Can't hide activations and omit zeros");
      }
      List<String> keptTokens = new ArrayList<>();
      List<Integer> kept = new ArrayList<>();
      for (int i = 0; i < normalized.length; i++) {
        if (normalized[i] > 0) {
          keptTokens.add(tokens.get(i));
          kept.add(normalized[i]);
        }
      }
      tokens = keptTokens;
      normalized = kept.stream().mapToInt(Integer::intValue).toArray();
    }
    if (tokens.size() != normalized.length) {
      throw new IllegalArgumentException(
          "Record has " + tokens.size() + " tokens but " + normalized.length + " activations");
    }
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < normalized.length; i++) {
      String value =
          (hideActivations || i < startIndex)
              ? UNKNOWN_ACTIVATION_STRING
              : Integer.toString(normalized[i]);
      lines.add(tokens.get(i) + "\t" + value);
    }
    return String.join("\n", lines);
  }

  /** All records framed by {@code <start>}/{@code <end>}, normalised by one shared max. */
  public static String formatActivationRecords(
      List<ActivationRecord> records,
      double maxActivation,
      boolean omitZeros,
      List<Integer> startIndices,
      boolean hideActivations) {
    List<String> parts = new ArrayList<>();
    for (int i = 0; i < records.size(); i++) {
      int start = startIndices == null ? 0 : startIndices.get(i);
      parts.add(
          formatActivationRecord(records.get(i), maxActivation, omitZeros, hideActivations, start));
    }
    return frame(parts);
  }

  /** {@link #formatActivationRecords(List, double, boolean, List, boolean)} with defaults. */
  public static String formatActivationRecords(
      List<ActivationRecord> records, double maxActivation) {
    return formatActivationRecords(records, maxActivation, false, null, false);
  }

  /** Token lines with {@code unknown} values. */
  public static String formatTokensForSimulation(List<String> tokens) {
    List<String> lines = new ArrayList<>();
    for (String t : tokens) {
      lines.add(t + "\t" + UNKNOWN_ACTIVATION_STRING);
    }
    return String.join("\n", lines);
  }

  /** Sequences to simulate, framed like {@link #formatActivationRecords}. */
  public static String formatSequencesForSimulation(List<List<String>> allTokens) {
    return frame(allTokens.stream().map(ActivationRecords::formatTokensForSimulation).toList());
  }

  private static String frame(List<String> parts) {
    return "\n<start>\n" + String.join("\n<end>\n<start>\n", parts) + "\n<end>\n";
  }

  /**
   * Fraction of activations whose normalised value is non-zero.
   *
   * @throws ArithmeticException when there are no activations
   */
  public static double nonZeroActivationProportion(
      List<ActivationRecord> records, double maxActivation) {
    long total = 0;
    long nonZero = 0;
    for (ActivationRecord r : records) {
      for (int v : normalizeActivations(r.activations(), maxActivation)) {
        if (v != 0) {
          nonZero++;
        }
      }
      total += r.activations().size();
    }
    if (total == 0) {
      throw new ArithmeticException("division by zero: no activations");
    }
    return (double) nonZero / total;
  }
}
