package io.github.neuronexplainer.examples;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Soak run: many mixed passes over a GPT-2-small-shaped model with random weights, under GC
 * pressure, printing resident memory and DJL's live-array count as it goes. The mix cycles through
 * a plain forward pass, forward+backward with every gradient, forward+backward through a gradient
 * editor and a sparse-autoencoder splice (with a forced GC between the forward and the backward
 * pass), greedy sampling with the KV cache, and a matmul probe in a short-lived manager; prompts
 * alternate between 64 and 256 tokens for the passes with gradients.
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.SoakRun \
 *     -Dexec.args="[passes=5000] [reportEvery=250] [layers=12] [dModel=768]"
 * </pre>
 *
 * <p>Fewer layers or a narrower model (the vocabulary and context stay GPT-2's) make the same mix
 * run faster on a small machine.
 *
 * <p>Exits with status 1 if memory grew more than 5% between the first report after warm-up and the
 * last.
 */
public final class SoakRun {
  private static final int KINDS = 5;

  private SoakRun() {}

  public static void main(String[] args) throws Exception {
    int passes = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
    int reportEvery = args.length > 1 ? Integer.parseInt(args[1]) : 250;
    int layers = args.length > 2 ? Integer.parseInt(args[2]) : 12;
    int dModel = args.length > 3 ? Integer.parseInt(args[3]) : 768;
    TransformerConfig config =
        new TransformerConfig("gpt2", 1024, dModel, layers, dModel / 64, 1.0, 4.0, 1e-5, 50257);
    Random random = new Random(11);
    try (NDManager root = NDManager.newBaseManager()) {
      Transformer model = ModelBenchmark.randomModel(config, root, 1234);
      int dFf = config.dFf();
      try (NDManager init = root.newSubManager();
          Autoencoder sae = randomAutoencoder(init, dFf, 4096, root)) {
        int[] short64 = ModelBenchmark.randomTokens(random, 64);
        int[] long256 = ModelBenchmark.randomTokens(random, 256);
        long baselineRss = 0;
        int baselineArrays = 0;
        long lastRss = 0;
        long start = System.nanoTime();
        for (int i = 0; i < passes; i++) {
          int[] prompt = (i / KINDS) % 2 == 0 ? short64 : long256;
          onePass(i % KINDS, model, sae, prompt, short64, root);
          if ((i + 1) % reportEvery == 0) {
            System.gc();
            long rss = ModelBenchmark.residentMb();
            int arrays = ((BaseNDManager) root).getManagedArrays().size();
            if (baselineRss == 0 && i + 1 >= Math.min(500, passes / 2)) {
              baselineRss = rss;
              baselineArrays = arrays;
            }
            lastRss = rss;
            System.out.printf(
                "%6d passes  %6.0f s  resident %5d MB  live arrays %d%n",
                i + 1, (System.nanoTime() - start) / 1e9, rss, arrays);
          }
        }
        int finalArrays = ((BaseNDManager) root).getManagedArrays().size();
        double growth = baselineRss == 0 ? 0 : (lastRss - baselineRss) * 100.0 / baselineRss;
        System.out.printf(
            "%d passes without a crash; resident %d MB after warm-up, %d MB at the end (%+.1f%%);"
                + " live arrays %d -> %d%n",
            passes, baselineRss, lastRss, growth, baselineArrays, finalArrays);
        if (growth > 5 || finalArrays != baselineArrays) {
          System.exit(1);
        }
      }
      model.close();
    }
  }

  private static void onePass(
      int kind, Transformer model, Autoencoder sae, int[] prompt, int[] short64, NDManager root) {
    switch (kind) {
      case 0 -> {
        try (NDManager m = root.newSubManager()) {
          model.logits(List.of(short64), Hooks.none(), m);
        }
      }
      case 1 -> {
        RunRequest request =
            RunRequest.builder()
                .prompt(prompt)
                .allLocations(true)
                .loss(Loss.logitDiff(1, 2))
                .build();
        try (ActivationCache cache = model.runWithCache(request, root)) {
          check(cache.get(ActivationLocationType.MLP_POST_ACT, 0, PassType.BACKWARD));
        }
      }
      case 2 -> {
        Hooks hooks =
            Hooks.builder()
                .forward(HookPoint.MLP_POST_ACT, Set.of(0), (x, ctx) -> splice(sae, x))
                .editGradient(
                    HookPoint.POST_ATTN,
                    Set.of(model.config().nLayers() - 1),
                    (g, ctx) -> g.mul(g.onesLike()))
                .forward(
                    HookPoint.LOGITS,
                    (x, ctx) -> {
                      System.gc(); // between the forward pass and the backward pass
                      return x;
                    })
                .build();
        RunRequest request =
            RunRequest.builder()
                .prompt(prompt)
                .gradients(HookPoint.RESID_POST_EMB, HookPoint.MLP_POST_ACT)
                .loss(Loss.logitDiff(3, 4))
                .hooks(hooks)
                .build();
        try (ActivationCache cache = model.runWithCache(request, root)) {
          check(cache.get(ActivationLocationType.RESID_POST_EMBEDDING, -1, PassType.BACKWARD));
        }
      }
      case 3 -> model.sample(List.of(short64), SamplingOptions.greedy(3), Hooks.none());
      default -> {
        try (NDManager m = root.newSubManager()) {
          NDArray a = m.randomNormal(new Shape(256, 768));
          a.matMul(a.transpose()).close();
        }
      }
    }
  }

  /** The autoencoder's reconstruction plus its (detached) error: the value is unchanged. */
  private static NDArray splice(Autoencoder sae, NDArray x) {
    NDArray reconstruction = sae.decode(sae.encode(x));
    return reconstruction.add(x.sub(reconstruction).stopGradient());
  }

  private static void check(NDArray gradient) {
    float sum = gradient.abs().sum().getFloat();
    if (!Float.isFinite(sum) || sum == 0) {
      throw new IllegalStateException("Gradient lost: sum of |gradient| = " + sum);
    }
  }

  private static Autoencoder randomAutoencoder(
      NDManager init, int nInputs, int nLatents, NDManager owner) {
    NDArray encoder = init.randomNormal(new Shape(nLatents, nInputs)).mul(1 / Math.sqrt(nInputs));
    return Autoencoder.of(
        init.zeros(new Shape(nInputs)),
        encoder,
        init.randomNormal(new Shape(nLatents)).mul(0.01),
        encoder.transpose(),
        LatentActivation.RELU,
        owner);
  }
}
