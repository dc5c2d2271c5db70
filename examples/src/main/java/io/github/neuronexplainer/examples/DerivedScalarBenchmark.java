package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import io.github.neuronexplainer.models.weights.HostTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Times the seven attribution DSTs (MLP / attention act×grad, write norm and direct effect, and
 * token attribution) plus {@code DerivedScalarStore.topk(100)} on a GPT-2-small-shaped model with
 * random weights, against one plain forward+backward pass of the same model at the same length (its
 * "limit" column in the markdown rows it prints: attribution should cost about one
 * forward+backward). Options as {@link ModelBenchmark}'s: {@code --model DIR}, {@code --reference
 * FILE} (the original's figures beside ours), {@code --lengths 64,256}.
 *
 * <pre>
 * MAVEN_OPTS=-Xmx6g mvn -q -o -pl examples exec:java \
 *   -Dexec.mainClass=io.github.neuronexplainer.examples.DerivedScalarBenchmark -Dexec.args="--lengths 64,256"
 * </pre>
 */
public final class DerivedScalarBenchmark {
  private static final List<DerivedScalarType> DSTS =
      List.of(
          DerivedScalarType.MLP_ACT_TIMES_GRAD,
          DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD,
          DerivedScalarType.MLP_WRITE_NORM,
          DerivedScalarType.UNFLATTENED_ATTN_WRITE_NORM,
          DerivedScalarType.MLP_WRITE_TO_FINAL_RESIDUAL_GRAD,
          DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD,
          DerivedScalarType.TOKEN_ATTRIBUTION);

  private static final int REPETITIONS = 9;

  private DerivedScalarBenchmark() {}

  public static void main(String[] args) {
    BenchTable table = BenchTable.fromArgs(args);
    String modelDir = BenchTable.option(args, "--model");
    TransformerConfig config =
        new TransformerConfig("gpt2", 1024, 768, 12, 12, 1.0, 4.0, 1e-5, 50257);
    List<String> rows = new ArrayList<>();
    try (StandardModelContext context =
            modelDir == null
                ? StandardModelContext.of("random-gpt2-small", randomCheckpoint(config, 20240601L))
                : StandardModelContext.load(modelDir);
        NDManager manager = NDManager.newBaseManager()) {
      Transformer model = context.getOrCreateModel();
      Loss loss = Loss.logitDiff(5335, 1757);
      List<DstAndConfig> requests = new ArrayList<>();
      DstConfig dstConfig = DstConfig.builder().modelContext(context).build();
      for (DerivedScalarType dst : DSTS) {
        requests.add(new DstAndConfig(dst, dstConfig));
      }
      for (int n : BenchTable.lengths(args)) {
        SplittableRandom random = new SplittableRandom(n);
        int[] tokens = random.ints(n, 0, 50000).toArray();
        Supplier<Object> forwardBackward =
            () -> {
              // A gradient reader at the embedding makes the pass back-propagate through the whole
              // model (without any reader the model skips the backward pass: no parameter needs
              // gradients).
              RunRequest request =
                  RunRequest.builder()
                      .prompt(tokens)
                      .loss(loss)
                      .gradients(HookPoint.RESID_POST_EMB)
                      .build();
              try (ActivationCache cache = model.runWithCache(request, manager)) {
                return cache.loss();
              }
            };
        Supplier<Object> derivedScalars =
            () -> {
              try (PromptDerivedScalars result =
                  DerivedScalarComputation.getDerivedScalarsForPrompt(
                      model, tokens, loss, List.of(), requests, manager)) {
                ActivationsAndMetadata.TopK top = result.derivedScalars().topkLikeOriginal(100);
                return top.values()[0];
              }
            };
        double[][] medians = interleavedMedianMillis(REPETITIONS, forwardBackward, derivedScalars);
        double plain = medians[0][0];
        double derived = medians[1][0];
        System.out.printf(
            "%d tokens: forward+backward %.1f ms; 7 DSTs + topk(100) %.1f ms (%.2fx); mins %.1f /"
                + " %.1f ms%n",
            n, plain, derived, derived / plain, medians[0][1], medians[1][1]);
        rows.add(
            BenchTable.row(
                "7 attribution DSTs + top-k(100), " + n + " tokens (limit: our forward+backward)",
                table.original(n, "dst_attribution_topk"),
                derived,
                plain));
      }
    }
    System.out.println(BenchTable.HEADER);
    rows.forEach(System.out::println);
  }

  /**
   * Runs the bodies alternately (after one warm-up each), so that load from other processes hits
   * both alike; returns {median, min} in ms per body.
   */
  @SafeVarargs
  private static double[][] interleavedMedianMillis(int reps, Supplier<Object>... bodies) {
    double[][] times = new double[bodies.length][reps];
    for (Supplier<Object> body : bodies) {
      body.get();
    }
    for (int i = 0; i < reps; i++) {
      for (int b = 0; b < bodies.length; b++) {
        long start = System.nanoTime();
        bodies[b].get();
        times[b][i] = (System.nanoTime() - start) / 1e6;
      }
    }
    double[][] result = new double[bodies.length][];
    for (int b = 0; b < bodies.length; b++) {
      Arrays.sort(times[b]);
      result[b] = new double[] {times[b][reps / 2], times[b][0]};
    }
    return result;
  }

  /** N(0, 0.02) matrices, zero biases, unit layer-norm gains. */
  static Gpt2Checkpoint randomCheckpoint(TransformerConfig config, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : Gpt2Checkpoint.expectedShapes(config).entrySet()) {
      long[] shape = e.getValue();
      float[] values = new float[(int) HostTensor.numelOf(shape)];
      String name = e.getKey();
      if (name.contains("ln") && name.endsWith(".weight")) {
        Arrays.fill(values, 1f);
      } else if (shape.length > 1) {
        for (int i = 0; i < values.length; i++) {
          values[i] = (float) (random.nextDouble(-1, 1) * 0.0346); // std 0.02
        }
      }
      tensors.put(name, HostTensor.ofFloats(values, shape));
    }
    return new Gpt2Checkpoint(config, tensors);
  }
}
