package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Times a GPT-2-small-shaped model with random weights: forward, forward+backward (logit-difference
 * loss, gradients read at every hook point), and greedy sampling with the KV cache, at 64 and 256
 * tokens; and the machine's fp32 matmul throughput, so each figure reads as a fraction of the
 * compute limit. Also checks that 1,000 forward passes keep native memory flat.
 *
 * <pre>mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.ModelBenchmark</pre>
 */
public final class ModelBenchmark {
  private ModelBenchmark() {}

  static final TransformerConfig GPT2_SMALL =
      new TransformerConfig("gpt2", 1024, 768, 12, 12, 1.0, 4.0, 1e-5, 50257);

  public static void main(String[] args) throws Exception {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    try (NDManager manager = NDManager.newBaseManager()) {
      double gflops = matmulGflops(manager);
      System.out.printf("fp32 matmul: %.1f GFLOP/s (best of 1024^3 and model-shaped products)%n", gflops);
      Transformer model = randomModel(GPT2_SMALL, manager, 1234);
      Random random = new Random(7);
      for (int n : new int[] {64, 256}) {
        int[] prompt = randomTokens(random, n);
        double flops = forwardFlops(GPT2_SMALL, n);
        double limitMs = flops / gflops / 1e6;
        double forwardMs =
            timeMs(repeats, () -> {
              try (NDManager m = manager.newSubManager()) {
                model.logits(List.of(prompt), Hooks.none(), m);
              }
            });
        RunRequest withGradients =
            RunRequest.builder().prompt(prompt).allLocations(true).loss(Loss.logitDiff(1, 2)).build();
        double backwardMs =
            timeMs(repeats, () -> model.runWithCache(withGradients, manager).close());
        int sampled = 17;
        int sampleRepeats = Math.max(3, repeats / 2);
        double firstStepMs =
            timeMs(sampleRepeats, () -> model.sample(List.of(prompt), SamplingOptions.greedy(1), Hooks.none()));
        double sampleMs =
            timeMs(sampleRepeats, () -> model.sample(List.of(prompt), SamplingOptions.greedy(sampled), Hooks.none()));
        double perToken = (sampleMs - firstStepMs) / (sampled - 1); // steps after the prompt's
        System.out.printf(
            "%4d tokens: forward %.1f ms (compute limit %.1f ms, %.2fx), forward+backward with every"
                + " gradient %.1f ms, greedy sampling %.1f ms/token after a %.1f ms first step%n",
            n, forwardMs, limitMs, forwardMs / limitMs, backwardMs, perToken, firstStepMs);
      }
      memoryCheck(model, manager, random);
      model.close();
    }
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
      params.put("tok_embed.weight", staging.randomNormal(0, 0.02f, new Shape(c.nVocab(), d), ai.djl.ndarray.types.DataType.FLOAT32));
      params.put("pos_embed.weight", staging.randomNormal(0, 0.02f, new Shape(c.ctxWindow(), d), ai.djl.ndarray.types.DataType.FLOAT32));
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
          params.put(p + "attn." + proj + ".weight", staging.randomNormal(0, 0.02f, new Shape(d, d), ai.djl.ndarray.types.DataType.FLOAT32));
          params.put(p + "attn." + proj + ".bias", staging.zeros(new Shape(d)));
        }
        params.put(p + "mlp.in_layer.weight", staging.randomNormal(0, 0.02f, new Shape(c.dFf(), d), ai.djl.ndarray.types.DataType.FLOAT32));
        params.put(p + "mlp.in_layer.bias", staging.zeros(new Shape(c.dFf())));
        params.put(p + "mlp.out_layer.weight", staging.randomNormal(0, 0.02f, new Shape(d, c.dFf()), ai.djl.ndarray.types.DataType.FLOAT32));
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
