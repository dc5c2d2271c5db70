package io.github.neuronexplainer.explanations.scoring;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ScoredSequenceSimulation;
import io.github.neuronexplainer.core.records.ScoredSimulation;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Scores simulations against true activations ({@code scoring.py}): Pearson correlation (NaN → 0),
 * r² and absolute deviation explained (no NaN guard, as upstream), pooled over all tokens of all
 * sequences. Stateless and thread-safe.
 */
public final class Scoring {
  private Scoring() {}

  /**
   * {@code np.corrcoef(real, predicted)[0, 1]}, 0.0 when undefined (constant input, fewer than 2
   * points, NaN).
   */
  public static double correlationScore(double[] real, double[] predicted) {
    requireSameLength(real, predicted);
    int n = real.length;
    double meanA = mean(real);
    double meanB = mean(predicted);
    double sab = 0;
    double saa = 0;
    double sbb = 0;
    for (int i = 0; i < n; i++) {
      double da = real[i] - meanA;
      double db = predicted[i] - meanB;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
    }
    double c01 = sab / (n - 1);
    double r = (c01 / Math.sqrt(saa / (n - 1))) / Math.sqrt(sbb / (n - 1));
    if (Double.isNaN(r)) {
      return 0.0;
    }
    return Math.max(-1.0, Math.min(1.0, r));
  }

  /**
   * {@code 1 - mean((real - predicted)²) / mean(real²)}; NaN or -inf when {@code real} is all zero
   * or empty.
   */
  public static double rsquaredScore(double[] real, double[] predicted) {
    requireSameLength(real, predicted);
    double[] sq = new double[real.length];
    double[] realSq = new double[real.length];
    for (int i = 0; i < real.length; i++) {
      double d = real[i] - predicted[i];
      sq[i] = d * d;
      realSq[i] = real[i] * real[i];
    }
    return 1 - mean(sq) / mean(realSq);
  }

  /**
   * {@code 1 - mean(|real - predicted|) / mean(|real|)}; NaN or -inf when {@code real} is all zero
   * or empty.
   */
  public static double absoluteDevExplainedScore(double[] real, double[] predicted) {
    requireSameLength(real, predicted);
    double[] dev = new double[real.length];
    double[] abs = new double[real.length];
    for (int i = 0; i < real.length; i++) {
      dev[i] = Math.abs(real[i] - predicted[i]);
      abs[i] = Math.abs(real[i]);
    }
    return 1 - mean(dev) / mean(abs);
  }

  private static void requireSameLength(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "Real and predicted activations differ in length: " + a.length + " vs " + b.length);
    }
  }

  /** numpy's mean: pairwise summation divided by N (NaN when empty). */
  static double mean(double[] values) {
    return values.length == 0 ? Double.NaN : pairwiseSum(values, 0, values.length) / values.length;
  }

  private static double pairwiseSum(double[] a, int from, int n) {
    if (n < 8) {
      double s = 0;
      for (int i = from; i < from + n; i++) {
        s += a[i];
      }
      return s;
    }
    if (n <= 128) {
      double[] r = new double[8];
      for (int k = 0; k < 8; k++) {
        r[k] = a[from + k];
      }
      int i;
      for (i = 8; i < n - (n % 8); i += 8) {
        for (int k = 0; k < 8; k++) {
          r[k] += a[from + i + k];
        }
      }
      double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
      for (; i < n; i++) {
        res += a[from + i];
      }
      return res;
    }
    int n2 = (n / 2) - ((n / 2) % 8);
    return pairwiseSum(a, from, n2) + pairwiseSum(a, from + n2, n - n2);
  }

  /** Scores one simulation of one record. */
  public static ScoredSequenceSimulation scoreSequence(
      ActivationRecord record, SequenceSimulation simulation) {
    double[] real = record.activationArray();
    double[] predicted = simulation.expectedActivationArray();
    return new ScoredSequenceSimulation(
        simulation,
        record.activations(),
        correlationScore(real, predicted),
        rsquaredScore(real, predicted),
        absoluteDevExplainedScore(real, predicted));
  }

  /** Concatenates the lists in order ({@code flatten_list}). */
  public static <T> List<T> flattenList(List<? extends List<? extends T>> lists) {
    List<T> out = new ArrayList<>();
    lists.forEach(out::addAll);
    return out;
  }

  /** Pools all tokens of all sequences; the correlation is {@code null} when there are none. */
  public static ScoredSimulation aggregate(List<ScoredSequenceSimulation> scored) {
    List<Number> allTrue =
        flattenList(
            scored.stream()
                .map(s -> s.trueActivations() == null ? List.<Number>of() : s.trueActivations())
                .toList());
    List<Number> allExpected =
        flattenList(
            scored.stream().map(s -> s.sequenceSimulation().expectedActivations()).toList());
    double[] real = allTrue.stream().mapToDouble(Number::doubleValue).toArray();
    double[] predicted = allExpected.stream().mapToDouble(Number::doubleValue).toArray();
    Double correlation = real.length == 0 ? null : correlationScore(real, predicted);
    return new ScoredSimulation(
        scored,
        correlation,
        rsquaredScore(real, predicted),
        absoluteDevExplainedScore(real, predicted));
  }

  /**
   * Simulates every record concurrently and aggregates the scores. If any simulation fails, the
   * future fails: a failure is never scored.
   */
  public static CompletableFuture<ScoredSimulation> simulateAndScore(
      NeuronSimulator simulator, List<ActivationRecord> records) {
    List<CompletableFuture<ScoredSequenceSimulation>> futures = new ArrayList<>();
    for (ActivationRecord r : records) {
      futures.add(simulator.simulate(r.tokens()).thenApply(sim -> scoreSequence(r, sim)));
    }
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
        .thenApply(ignored -> aggregate(futures.stream().map(CompletableFuture::join).toList()));
  }

  /** ROC-AUC as the Mann–Whitney statistic (ties count ½). */
  public static double rocAucScore(int[] labels, double[] scores) {
    if (labels.length != scores.length) {
      throw new IllegalArgumentException("labels and scores differ in length");
    }
    double wins = 0;
    long pairs = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] != 1) {
        continue;
      }
      for (int j = 0; j < labels.length; j++) {
        if (labels[j] == 1) {
          continue;
        }
        pairs++;
        if (scores[i] > scores[j]) {
          wins += 1;
        } else if (scores[i] == scores[j]) {
          wins += 0.5;
        }
      }
    }
    if (pairs == 0) {
      throw new IllegalArgumentException(
          "Only one class present in y_true. ROC AUC score is not defined in that case.");
    }
    return wins / pairs;
  }
}
