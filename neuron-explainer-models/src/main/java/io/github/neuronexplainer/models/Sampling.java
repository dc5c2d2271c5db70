package io.github.neuronexplainer.models;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;

/** Token choice from one row of logits, on the host (a row is one vocabulary: cheap). */
final class Sampling {
  private Sampling() {}

  static int pick(float[] logits, int offset, int n, SamplingOptions options, Random random) {
    if (options.temperature() == 0) {
      int best = 0;
      for (int i = 1; i < n; i++) {
        if (logits[offset + i] > logits[offset + best]) {
          best = i; // first maximum, as torch.argmax
        }
      }
      return best;
    }
    double beta = 1 / Math.max(options.temperature(), 1e-10);
    double[] scaled = new double[n];
    for (int i = 0; i < n; i++) {
      scaled[i] = logits[offset + i] * beta;
    }
    if (options.topP() == null) {
      return drawFromLogits(scaled, identity(n), n, random);
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> scaled[i]).reversed());
    double[] sorted = new double[n];
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = order[i];
      sorted[i] = scaled[order[i]];
    }
    double[] probs = softmax(sorted);
    // keep the smallest prefix whose mass reaches topP, and always the top token
    double topP = Math.max(probs[0], options.topP());
    double cumulative = 0;
    int keep = 0;
    while (keep < n) {
      cumulative += probs[keep];
      if (cumulative > topP && keep > 0) {
        break;
      }
      keep++;
    }
    return drawFromLogits(sorted, ids, keep, random);
  }

  private static int[] identity(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = i;
    }
    return ids;
  }

  private static int drawFromLogits(double[] logits, int[] ids, int count, Random random) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < count; i++) {
      max = Math.max(max, logits[i]);
    }
    double total = 0;
    double[] weights = new double[count];
    for (int i = 0; i < count; i++) {
      weights[i] = Math.exp(logits[i] - max);
      total += weights[i];
    }
    double u = random.nextDouble() * total;
    for (int i = 0; i < count; i++) {
      u -= weights[i];
      if (u <= 0) {
        return ids[i];
      }
    }
    return ids[count - 1];
  }

  private static double[] softmax(double[] x) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : x) {
      max = Math.max(max, v);
    }
    double total = 0;
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = Math.exp(x[i] - max);
      total += out[i];
    }
    for (int i = 0; i < x.length; i++) {
      out[i] /= total;
    }
    return out;
  }
}
