package io.github.neuronexplainer.models.records;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Gpt2Tokenizer;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Streams a token corpus through a model and builds the original's {@link NeuronRecord}s (the input
 * of the explainers): for each unit, the {@code topCount} excerpts with the largest maximum
 * activation (most positive first), the same {@code randomCount} randomly chosen excerpts for every
 * unit, and the mean, variance, skewness and kurtosis of the unit's activations over all tokens
 * (token pairs for attention heads). Excerpts are consecutive, non-overlapping windows of {@code
 * excerptLength} tokens; tokens are the per-token strings the original stores.
 *
 * <p>Defaults follow the original's released GPT-2 records: 64-token excerpts, 20 top and 50 random
 * ones (enough for 5 examples in each of the explainer's four top splits and three random splits).
 *
 * <p>Thread-safety: immutable; {@link #collect} may run concurrently on several threads (each run
 * has its own state; the model and autoencoder are thread-safe for inference).
 */
public final class NeuronRecordCollector {
  private final Transformer model;
  private final int excerptLength;
  private final int topCount;
  private final int randomCount;
  private final int batchSize;
  private final long seed;

  /** What a collection produced, and how fast. */
  public record Result(List<NeuronRecord> records, long tokens, double seconds) {
    public Result {
      records = List.copyOf(records);
    }

    /** Corpus tokens per second of wall time. */
    public double tokensPerSecond() {
      return tokens / seconds;
    }
  }

  /** Progress after each batch of excerpts. */
  public record Progress(int excerptsDone, int excerpts, long tokensDone, double tokensPerSecond) {}

  private NeuronRecordCollector(Builder b) {
    this.model = b.model;
    this.excerptLength = b.excerptLength;
    this.topCount = b.topCount;
    this.randomCount = b.randomCount;
    this.batchSize = b.batchSize;
    this.seed = b.seed;
  }

  public static Builder builder(Transformer model) {
    return new Builder(model);
  }

  /**
   * Collects records for {@code units} over {@code tokens}, cut into excerpts (a trailing partial
   * excerpt is dropped).
   *
   * @throws IllegalArgumentException if the corpus has fewer excerpts than {@code topCount} or
   *     {@code randomCount}, or the units do not fit the model
   */
  public Result collect(RecordUnits units, int[] tokens, Consumer<Progress> progress) {
    int excerpts = tokens.length / excerptLength;
    if (excerpts < Math.max(topCount, randomCount)) {
      throw new IllegalArgumentException(
          "The corpus gives "
              + excerpts
              + " excerpts of "
              + excerptLength
              + " tokens, fewer than the "
              + Math.max(topCount, randomCount)
              + " top/random records asked for; use more text or lower the counts");
    }
    if (units.layer() < 0 || units.layer() >= model.config().nLayers()) {
      throw new IllegalArgumentException(
          "Layer " + units.layer() + " does not exist; the model has " + model.config().nLayers());
    }
    Set<Integer> randomExcerpts = chooseRandom(excerpts);
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.forEncoding(model.config().enc());
    long start = System.nanoTime();
    State state = null;
    for (int first = 0; first < excerpts; first += batchSize) {
      int count = Math.min(batchSize, excerpts - first);
      List<int[]> prompts = new ArrayList<>();
      for (int e = first; e < first + count; e++) {
        int[] excerpt = new int[excerptLength];
        System.arraycopy(tokens, e * excerptLength, excerpt, 0, excerptLength);
        prompts.add(excerpt);
      }
      float[][][] acts = activations(units, prompts); // [excerpt][unit][value]
      if (state == null) {
        state = new State(acts[0].length);
      }
      for (int b = 0; b < count; b++) {
        state.add(first + b, acts[b], randomExcerpts.contains(first + b));
      }
      long done = (long) (first + count) * excerptLength;
      progress.accept(
          new Progress(first + count, excerpts, done, done / ((System.nanoTime() - start) / 1e9)));
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    List<NeuronRecord> records = new ArrayList<>();
    for (int u = 0; u < state.units; u++) {
      records.add(state.record(u, units.layer(), tokens, tokenizer));
    }
    return new Result(records, (long) excerpts * excerptLength, seconds);
  }

  private Set<Integer> chooseRandom(int excerpts) {
    Random random = new Random(seed);
    Set<Integer> chosen = new TreeSet<>();
    while (chosen.size() < randomCount) {
      chosen.add(random.nextInt(excerpts));
    }
    return chosen;
  }

  /** Activations {@code [excerpt][unit][token or token pair]} of one batch. */
  private float[][][] activations(RecordUnits units, List<int[]> prompts) {
    int layer = units.layer();
    HookPoint point;
    if (units instanceof RecordUnits.AutoencoderLatents a) {
      point = HookPoint.forLocation(a.input());
    } else if (units instanceof RecordUnits.AttentionHeads) {
      point = HookPoint.ATTN_QK_PROBS;
    } else {
      point = HookPoint.MLP_POST_ACT;
    }
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache =
            model.runWithCache(
                RunRequest.builder().prompts(prompts).forward(point).layers(Set.of(layer)).build(),
                m)) {
      NDArray x = cache.get(point, layer, PassType.FORWARD);
      int b = prompts.size();
      int s = excerptLength;
      if (units instanceof RecordUnits.AttentionHeads) {
        // [b, q, k, h] → per head, the lower triangle flattened by query row
        int h = Math.toIntExact(x.getShape().get(3));
        float[] probs = x.toFloatArray();
        float[][][] out = new float[b][h][s * (s + 1) / 2];
        for (int e = 0; e < b; e++) {
          for (int q = 0; q < s; q++) {
            for (int k = 0; k <= q; k++) {
              int flat = q * (q + 1) / 2 + k;
              int base = ((e * s + q) * s + k) * h;
              for (int head = 0; head < h; head++) {
                out[e][head][flat] = probs[base + head];
              }
            }
          }
        }
        return out;
      }
      if (units instanceof RecordUnits.AutoencoderLatents a) {
        x = a.autoencoder().encode(x.reshape(-1, x.getShape().get(2))).reshape(b, s, -1);
      }
      int width = Math.toIntExact(x.getShape().get(2));
      float[] values = x.toFloatArray();
      float[][][] out = new float[b][width][s];
      for (int e = 0; e < b; e++) {
        for (int t = 0; t < s; t++) {
          int base = (e * s + t) * width;
          for (int u = 0; u < width; u++) {
            out[e][u][t] = values[base + u];
          }
        }
      }
      return out;
    }
  }

  /** Running top excerpts, random excerpts and moments of every unit. */
  private final class State {
    private record Top(int excerpt, float max, float[] activations) {}

    final int units;
    final List<PriorityQueue<Top>> top = new ArrayList<>();
    final List<Map<Integer, float[]>> random = new ArrayList<>();
    final double[][] sums; // per unit: count, Σx, Σx², Σx³, Σx⁴

    State(int units) {
      this.units = units;
      this.sums = new double[units][5];
      for (int u = 0; u < units; u++) {
        // smallest max first (evicted first); ties: the later excerpt goes first
        top.add(
            new PriorityQueue<>(
                Comparator.comparingDouble(Top::max)
                    .thenComparing(Top::excerpt, Comparator.reverseOrder())));
        random.add(new HashMap<>());
      }
    }

    void add(int excerpt, float[][] acts, boolean isRandom) {
      for (int u = 0; u < units; u++) {
        float[] a = acts[u];
        float max = Float.NEGATIVE_INFINITY;
        double[] s = sums[u];
        for (float v : a) {
          max = Math.max(max, v);
          double d = v;
          s[0]++;
          s[1] += d;
          s[2] += d * d;
          s[3] += d * d * d;
          s[4] += d * d * d * d;
        }
        PriorityQueue<Top> queue = top.get(u);
        if (queue.size() < topCount) {
          queue.add(new Top(excerpt, max, a));
        } else if (max > queue.peek().max()) {
          queue.poll();
          queue.add(new Top(excerpt, max, a));
        }
        if (isRandom) {
          random.get(u).put(excerpt, a);
        }
      }
    }

    NeuronRecord record(int u, int layer, int[] tokens, Gpt2Tokenizer tokenizer) {
      List<Top> best = new ArrayList<>(top.get(u));
      best.sort(Comparator.comparingDouble(Top::max).reversed().thenComparing(Top::excerpt));
      List<ActivationRecord> topRecords = new ArrayList<>();
      for (Top t : best) {
        topRecords.add(activationRecord(t.excerpt(), t.activations(), tokens, tokenizer));
      }
      List<ActivationRecord> randomRecords = new ArrayList<>();
      new TreeSet<>(random.get(u).keySet())
          .forEach(
              e -> randomRecords.add(activationRecord(e, random.get(u).get(e), tokens, tokenizer)));
      double[] s = sums[u];
      double n = s[0];
      double mean = s[1] / n;
      double variance = s[2] / n - mean * mean;
      double m3 = s[3] / n - 3 * mean * s[2] / n + 2 * mean * mean * mean;
      double m4 =
          s[4] / n - 4 * mean * s[3] / n + 6 * mean * mean * s[2] / n - 3 * Math.pow(mean, 4);
      double skewness = variance > 0 ? m3 / Math.pow(variance, 1.5) : Double.NaN;
      double kurtosis = variance > 0 ? m4 / (variance * variance) : Double.NaN;
      return new NeuronRecord(
          new NeuronId(u, layer),
          randomRecords,
          null,
          null,
          mean,
          variance,
          skewness,
          kurtosis,
          topRecords);
    }

    private ActivationRecord activationRecord(
        int excerpt, float[] acts, int[] tokens, Gpt2Tokenizer tokenizer) {
      List<String> strings = new ArrayList<>();
      for (int t = 0; t < excerptLength; t++) {
        strings.add(tokenizer.decodeToken(tokens[excerpt * excerptLength + t]));
      }
      List<Double> values = new ArrayList<>(); // Python floats, as the original's JSON holds
      for (float v : acts) {
        values.add((double) v);
      }
      return ActivationRecord.of(strings, values);
    }
  }

  /**
   * Builder; defaults: 64-token excerpts, 20 top and 50 random records, batches of 16 excerpts,
   * seed 0.
   */
  public static final class Builder {
    private final Transformer model;
    private int excerptLength = 64;
    private int topCount = 20;
    private int randomCount = 50;
    private int batchSize = 16;
    private long seed;

    private Builder(Transformer model) {
      this.model = java.util.Objects.requireNonNull(model, "model");
    }

    public Builder excerptLength(int v) {
      this.excerptLength = v;
      return this;
    }

    public Builder topCount(int v) {
      this.topCount = v;
      return this;
    }

    public Builder randomCount(int v) {
      this.randomCount = v;
      return this;
    }

    public Builder batchSize(int v) {
      this.batchSize = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    public NeuronRecordCollector build() {
      if (excerptLength < 1
          || excerptLength > model.config().ctxWindow()
          || topCount < 1
          || randomCount < 0
          || batchSize < 1) {
        throw new IllegalArgumentException(
            "Need 1 <= excerptLength <= the context window ("
                + model.config().ctxWindow()
                + "), topCount >= 1, randomCount >= 0, batchSize >= 1");
      }
      return new NeuronRecordCollector(this);
    }
  }
}
