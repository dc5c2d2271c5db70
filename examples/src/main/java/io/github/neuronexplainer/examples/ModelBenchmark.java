package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Times a GPT-2-small-shaped model: forward, forward+backward (logit-difference loss, gradients
 * read at every hook point), greedy sampling with the KV cache for one prompt and for a batch of
 * eight, at 64 and 256 tokens, and corpus throughput (batches of 8 prompts of 128 tokens); plus the
 * machine's fp32 matmul throughput and memory bandwidth, so each figure reads as a fraction of the
 * compute (or, for sampling, memory) limit. Prints markdown table rows ({@link BenchTable}), with
 * the original's figures beside ours when given {@code bench_reference.py}'s JSON line.
 *
 * <p>Options: {@code --model DIR} (a checkpoint folder, e.g. the harness's {@code tiny-gpt2-hf}
 * made with the GPT-2-small shape; default random N(0, 0.02) weights), {@code --reference FILE},
 * {@code --repeats N} (default 7), {@code --lengths 64,256}, {@code --memory-check} (also check
 * that 1,000 forward passes keep native memory flat).
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.ModelBenchmark -Dexec.args="--reference ref.json"
 * </pre>
 */
public final class ModelBenchmark {
  private ModelBenchmark() {}

  static final TransformerConfig GPT2_SMALL =
      new TransformerConfig("gpt2", 1024, 768, 12, 12, 1.0, 4.0, 1e-5, 50257);

  private static final int SAMPLED = 17;
  private static final int SAMPLING_BATCH = 8;
  private static final int CORPUS_BATCH = 8;
  private static final int CORPUS_LENGTH = 128;

  public static void main(String[] args) throws Exception {
    BenchTable table = BenchTable.fromArgs(args);
    String repeatsOption = BenchTable.option(args, "--repeats");
    int repeats = repeatsOption == null ? 7 : Integer.parseInt(repeatsOption);
    String modelDir = BenchTable.option(args, "--model");
    try (NDManager manager = NDManager.newBaseManager()) {
      double gflops = matmulGflops(manager);
      double bandwidth = memoryBandwidthGbs(manager);
      Transformer model =
          modelDir == null
              ? randomModel(GPT2_SMALL, manager, 1234)
              : Transformer.fromCheckpoint(Gpt2Checkpoint.load(Path.of(modelDir)), manager);
      TransformerConfig config = model.config();
      System.out.printf(
          "fp32 matmul: %.1f GFLOP/s (best of 1024^3 and model-shaped products); memory bandwidth"
              + " %.1f GB/s (sum of 256 MB); model %s; %s%n",
          gflops, bandwidth, modelDir == null ? "random" : modelDir, table.referenceDescription());
      Random random = new Random(7);
      List<String> rows = new ArrayList<>();
      for (int n : BenchTable.lengths(args)) {
        int[] prompt = randomTokens(random, n);
        double limitMs = forwardFlops(config, n) / gflops / 1e6;
        double forwardMs =
            timeMs(
                repeats,
                () -> {
                  try (NDManager m = manager.newSubManager()) {
                    model.logits(List.of(prompt), Hooks.none(), m);
                  }
                });
        rows.add(
            BenchTable.row(
                "forward, " + n + " tokens", table.original(n, "forward"), forwardMs, limitMs));
        RunRequest withGradients =
            RunRequest.builder()
                .prompt(prompt)
                .allLocations(true)
                .loss(Loss.logitDiff(1, 2))
                .build();
        double backwardMs =
            timeMs(repeats, () -> model.runWithCache(withGradients, manager).close());
        rows.add(
            BenchTable.row(
                "forward+backward, "
                    + n
                    + " tokens (original: parameter gradients; ours: gradient at every hook point)",
                table.original(n, "forward_backward"),
                backwardMs,
                Double.NaN));
        double stepMs = samplingStepMs(model, List.of(prompt), repeats);
        // the original's 20 greedy tokens less its first step (about one forward pass), per token
        double originalStep =
            (table.original(n, "sample_20_greedy") - table.original(n, "forward")) / 19;
        double weightMs = weightBytes(config) / bandwidth / 1e6;
        rows.add(
            BenchTable.row(
                "greedy sampling per token, "
                    + n
                    + "-token prompt (limit: weights read once at "
                    + String.format("%.1f", bandwidth)
                    + " GB/s)",
                originalStep,
                stepMs,
                weightMs));
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < SAMPLING_BATCH; i++) {
          prompts.add(randomTokens(random, n));
        }
        double batchStepMs = samplingStepMs(model, prompts, repeats);
        double single = 1000 / stepMs;
        double batched = SAMPLING_BATCH * 1000 / batchStepMs;
        rows.add(
            BenchTable.row(
                "batched greedy sampling, " + SAMPLING_BATCH + " prompts of " + n + " tokens",
                "",
                String.format(
                    "%.0f tokens/s (%.1f ms/step) vs %.0f tokens/s for one prompt",
                    batched, batchStepMs, single),
                BenchTable.ratio(batched / single) + " one prompt's tokens/s",
                "",
                ""));
      }
      rows.add(corpusRow(model, manager, random, gflops, Math.max(3, repeats / 2)));
      System.out.println(BenchTable.HEADER);
      rows.forEach(System.out::println);
      if (BenchTable.flag(args, "--memory-check")) {
        memoryCheck(model, manager, random);
      }
      model.close();
    }
  }

  /** ms per sampling step after the prompt's: (17 tokens - 1 token) / 16, minima of the runs. */
  static double samplingStepMs(Transformer model, List<int[]> prompts, int repeats) {
    int runs = Math.max(3, repeats);
    double[] first = new double[runs];
    double[] all = new double[runs];
    model.sample(prompts, SamplingOptions.greedy(2), Hooks.none()); // warm-up
    for (int r = 0; r < runs; r++) { // interleaved, so that load hits both alike
      first[r] = timeOnceMs(() -> model.sample(prompts, SamplingOptions.greedy(1), Hooks.none()));
      all[r] =
          timeOnceMs(() -> model.sample(prompts, SamplingOptions.greedy(SAMPLED), Hooks.none()));
    }
    return (java.util.Arrays.stream(all).min().orElseThrow()
            - java.util.Arrays.stream(first).min().orElseThrow())
        / (SAMPLED - 1);
  }

  /** Forward passes over batches of 8 prompts of 128 tokens: tokens/s and fraction of the limit. */
  static String corpusRow(
      Transformer model, NDManager manager, Random random, double gflops, int batches) {
    List<List<int[]>> corpus = new ArrayList<>();
    for (int b = 0; b <= batches; b++) {
      List<int[]> batch = new ArrayList<>();
      for (int i = 0; i < CORPUS_BATCH; i++) {
        batch.add(randomTokens(random, CORPUS_LENGTH));
      }
      corpus.add(batch);
    }
    double best = Double.MAX_VALUE;
    for (int b = 0; b <= batches; b++) { // the first batch is a warm-up
      List<int[]> batch = corpus.get(b);
      double ms =
          timeOnceMs(
              () -> {
                try (NDManager m = manager.newSubManager()) {
                  model.logits(batch, Hooks.none(), m);
                }
              });
      if (b > 0) {
        best = Math.min(best, ms);
      }
    }
    double limitMs = CORPUS_BATCH * forwardFlops(model.config(), CORPUS_LENGTH) / gflops / 1e6;
    double tokensPerSecond = CORPUS_BATCH * CORPUS_LENGTH * 1000 / best;
    return BenchTable.row(
        "corpus forward, batches of " + CORPUS_BATCH + " x " + CORPUS_LENGTH + " tokens",
        "",
        String.format("%.0f tokens/s (%.0f ms/batch)", tokensPerSecond, best),
        "",
        BenchTable.ms(limitMs) + "/batch",
        BenchTable.fraction(limitMs / best));
  }

  /** fp32 bytes of the weight matrices a sampling step reads (layers and unembedding). */
  static double weightBytes(TransformerConfig c) {
    double d = c.dModel();
    double perLayer = d * (2 * c.dAttnQk() + c.dAttnV()) + c.dAttnV() * d + 2 * d * c.dFf();
    return 4 * (c.nLayers() * perLayer + d * c.nVocab());
  }

  /** Read GB/s of summing a 256 MB array (best of 5): what a matrix-vector product streams. */
  static double memoryBandwidthGbs(NDManager manager) {
    try (NDManager m = manager.newSubManager()) {
      NDArray a = m.ones(new Shape(64, 1024, 1024));
      double ms = timeMs(5, () -> a.sum().close());
      return 4.0 * a.size() / (ms * 1e6);
    }
  }

  static double timeOnceMs(Runnable body) {
    long t0 = System.nanoTime();
    body.run();
    return (System.nanoTime() - t0) / 1e6;
  }

  static void memoryCheck(Transformer model, NDManager manager, Random random) throws Exception {
    int[] prompt = randomTokens(random, 64);
    long start = 0;
    for (int i = 0; i < 1000; i++) {
      if (i == 100) {
        start = residentMb();
      }
      try (NDManager m = manager.newSubManager()) {
        model.logits(List.of(prompt), Hooks.none(), m);
      }
    }
    System.out.printf(
        "1000 forward passes (64 tokens): resident memory %d MB after 100, %d MB after 1000%n",
        start, residentMb());
  }

  /** A model of this shape with N(0, 0.02) weights, unit layer-norm gains, zero biases. */
  static Transformer randomModel(TransformerConfig c, NDManager manager, long seed) {
    manager.getEngine().setRandomSeed((int) seed);
    Map<String, NDArray> params = new HashMap<>();
    try (NDManager staging = manager.newSubManager()) {
      int d = c.dModel();
      params.put(
          "tok_embed.weight",
          staging.randomNormal(
              0, 0.02f, new Shape(c.nVocab(), d), ai.djl.ndarray.types.DataType.FLOAT32));
      params.put(
          "pos_embed.weight",
          staging.randomNormal(
              0, 0.02f, new Shape(c.ctxWindow(), d), ai.djl.ndarray.types.DataType.FLOAT32));
      params.put("unembed.weight", params.get("tok_embed.weight"));
      params.put("final_ln.weight", staging.ones(new Shape(d)));
      params.put("final_ln.bias", staging.zeros(new Shape(d)));
      for (int i = 0; i < c.nLayers(); i++) {
        String p = "xf_layers." + i + ".";
        for (String ln : new String[] {"ln_1", "ln_2"}) {
          params.put(p + ln + ".weight", staging.ones(new Shape(d)));
          params.put(p + ln + ".bias", staging.zeros(new Shape(d)));
        }
        for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
          params.put(
              p + "attn." + proj + ".weight",
              staging.randomNormal(
                  0, 0.02f, new Shape(d, d), ai.djl.ndarray.types.DataType.FLOAT32));
          params.put(p + "attn." + proj + ".bias", staging.zeros(new Shape(d)));
        }
        params.put(
            p + "mlp.in_layer.weight",
            staging.randomNormal(
                0, 0.02f, new Shape(c.dFf(), d), ai.djl.ndarray.types.DataType.FLOAT32));
        params.put(p + "mlp.in_layer.bias", staging.zeros(new Shape(c.dFf())));
        params.put(
            p + "mlp.out_layer.weight",
            staging.randomNormal(
                0, 0.02f, new Shape(d, c.dFf()), ai.djl.ndarray.types.DataType.FLOAT32));
        params.put(p + "mlp.out_layer.bias", staging.zeros(new Shape(d)));
      }
      Map<String, NDArray> distinct = new HashMap<>();
      params.forEach((k, v) -> distinct.put(k, k.equals("unembed.weight") ? v.duplicate() : v));
      return new Transformer(c, distinct, manager);
    }
  }

  /** Multiply-adds ×2 of one forward pass over n tokens (projections, attention, unembedding). */
  static double forwardFlops(TransformerConfig c, int n) {
    double d = c.dModel();
    double perLayer = 2.0 * n * (4 * d * d + 2 * d * c.dFf()) + 2.0 * 2 * n * n * d;
    return c.nLayers() * perLayer + 2.0 * n * d * c.nVocab();
  }

  static double matmulGflops(NDManager manager) {
    double best = 0;
    long[][] shapes = {{1024, 1024, 1024}, {256, 768, 3072}, {256, 768, 50257}};
    for (long[] s : shapes) {
      try (NDManager m = manager.newSubManager()) {
        NDArray a = m.randomNormal(new Shape(s[0], s[1]));
        NDArray b = m.randomNormal(new Shape(s[1], s[2]));
        double ms = timeMs(5, () -> a.matMul(b).close());
        best = Math.max(best, 2.0 * s[0] * s[1] * s[2] / (ms * 1e6));
      }
    }
    return best;
  }

  static int[] randomTokens(Random random, int n) {
    int[] tokens = new int[n];
    for (int i = 0; i < n; i++) {
      tokens[i] = random.nextInt(50000);
    }
    return tokens;
  }

  /** Median of {@code repeats} runs after two warm-up runs. */
  static double timeMs(int repeats, Runnable body) {
    body.run();
    body.run();
    double[] times = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      body.run();
      times[i] = (System.nanoTime() - t0) / 1e6;
    }
    java.util.Arrays.sort(times);
    return times[repeats / 2];
  }

  static long residentMb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
      }
    }
    return -1;
  }
}
