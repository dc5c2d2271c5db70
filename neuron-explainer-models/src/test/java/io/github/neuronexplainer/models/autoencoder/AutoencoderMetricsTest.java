package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.TestPack;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The metrics on autoencoders whose values are known by construction. */
class AutoencoderMetricsTest {
  private static final TestPack PACK = TestPack.load();
  private static final NDManager M = NDManager.newBaseManager();
  private static final Transformer MODEL =
      Transformer.fromCheckpoint(Gpt2Checkpoint.load(PACK.modelDirs().get(0)), M);
  private static final ActivationLocationType INPUT = ActivationLocationType.MLP_POST_ACT;
  private static final int LAYER = MODEL.config().nLayers() - 1;

  @AfterAll
  static void close() {
    MODEL.close();
    M.close();
  }

  /** The pack's prompts plus a shorter copy of the first, so the batch is padded. */
  private static List<int[]> prompts() {
    List<int[]> prompts = new ArrayList<>();
    PACK.prompts().forEach(p -> prompts.add(p.tokens()));
    int[] first = prompts.get(0);
    prompts.add(Arrays.copyOf(first, Math.max(2, first.length - 2)));
    return prompts;
  }

  private static int width() {
    return MODEL.config().dFf();
  }

  @Test
  void identityAutoencoderExplainsEverythingAndChangesNoLoss() {
    int n = width();
    try (NDManager m = M.newSubManager();
        Autoencoder identity =
            Autoencoder.of(
                m.zeros(new Shape(n)),
                m.eye(n),
                m.zeros(new Shape(n)),
                m.eye(n),
                LatentActivation.IDENTITY,
                m)) {
      AutoencoderMetrics.Report r =
          AutoencoderMetrics.evaluate(
              MODEL,
              identity,
              INPUT,
              LAYER,
              prompts(),
              AutoencoderMetrics.DEFAULT_DENSE_THRESHOLD,
              m);
      assertEquals(0, r.fractionOfVarianceUnexplained(), 1e-12);
      assertEquals(0, r.normalizedMse(), 1e-12);
      assertEquals(0, r.splicedLossIncrease(), 1e-6);
      assertEquals(1, r.lossRecovered(), 1e-6);
      assertTrue(r.zeroAblationLossIncrease() != 0, "zero ablation changes the loss");
      int tokens = prompts().stream().mapToInt(p -> p.length).sum();
      assertEquals(tokens, r.tokens());
      assertEquals(tokens - prompts().size(), r.positions());
      // L0 = number of nonzero MLP activations per token (GELU is almost never exactly 0)
      assertEquals(nonzeroPerToken(m), r.l0(), 1e-9);
      assertEquals(0, r.deadFraction(), 1e-12);
      assertEquals(plainLoss(m), r.loss(), 1e-5);
    }
  }

  @Test
  void deadAutoencoderIsAsBadAsZeroAblation() {
    int n = width();
    int latents = 2 * n;
    try (NDManager m = M.newSubManager();
        Autoencoder dead =
            Autoencoder.of(
                m.zeros(new Shape(n)),
                m.zeros(new Shape(latents, n)),
                m.ones(new Shape(latents)).neg(),
                m.randomNormal(new Shape(n, latents)),
                LatentActivation.RELU,
                m)) {
      AutoencoderMetrics.Report r =
          AutoencoderMetrics.evaluate(MODEL, dead, INPUT, LAYER, prompts(), 0.5, m);
      assertEquals(0, r.l0());
      assertEquals(1, r.deadFraction());
      assertEquals(0, r.denseFraction());
      assertEquals(1, r.normalizedMse(), 1e-6);
      assertTrue(r.fractionOfVarianceUnexplained() >= 1, "Σx² ≥ Σ(x − x̄)²");
      assertEquals(r.zeroAblationLoss(), r.splicedLoss(), 1e-6);
      assertEquals(0, r.lossRecovered(), 1e-5);
    }
  }

  @Test
  void pickedLatentsHaveKnownDensity() {
    // encoder rows: +e_0 ... ; latent 0 copies channel 0 (active wherever gelu > 0),
    // latent 1 has bias +1 and zero weights (always active), latent 2 bias −1 (never)
    int n = width();
    try (NDManager m = M.newSubManager()) {
      float[] enc = new float[3 * n];
      enc[0] = 1;
      NDArray encoder = m.create(enc, new Shape(3, n));
      NDArray bias = m.create(new float[] {0, 1, -1});
      try (Autoencoder ae =
          Autoencoder.of(
              m.zeros(new Shape(n)),
              encoder,
              bias,
              m.zeros(new Shape(n, 3)),
              LatentActivation.RELU,
              m)) {
        AutoencoderMetrics.Report r =
            AutoencoderMetrics.evaluate(MODEL, ae, INPUT, LAYER, prompts(), 0.99, m);
        assertEquals(1.0 / 3, r.deadFraction(), 1e-12);
        assertEquals(1.0 / 3, r.denseFraction(), 1e-12, "only the always-on latent is above 99%");
        double positiveChannel0 = fractionPositiveChannel0(m);
        assertEquals(1 + positiveChannel0, r.l0(), 1e-9);
      }
    }
  }

  @Test
  void textsAreTokenizedWithTheModelsTokenizer() {
    int n = width();
    List<String> texts = new ArrayList<>();
    List<int[]> tokens = new ArrayList<>();
    PACK.prompts()
        .forEach(
            p -> {
              texts.add(p.text());
              tokens.add(p.tokens());
            });
    try (NDManager m = M.newSubManager();
        Autoencoder ae =
            Autoencoder.of(
                m.zeros(new Shape(n)),
                m.eye(n).mul(2),
                m.zeros(new Shape(n)),
                m.eye(n).mul(0.5),
                LatentActivation.RELU,
                m)) {
      AutoencoderMetrics.Report fromTexts =
          AutoencoderMetrics.evaluateTexts(MODEL, ae, INPUT, LAYER, texts, m);
      AutoencoderMetrics.Report fromTokens =
          AutoencoderMetrics.evaluate(
              MODEL, ae, INPUT, LAYER, tokens, AutoencoderMetrics.DEFAULT_DENSE_THRESHOLD, m);
      assertEquals(fromTokens, fromTexts);
      // ReLU(2x)/2 keeps the positive part: the negative GELU tail is lost
      assertTrue(fromTexts.fractionOfVarianceUnexplained() > 0);
      assertTrue(fromTexts.splicedLossIncrease() != 0);
    }
  }

  private static List<float[]> activationRows(NDManager m) {
    List<float[]> rows = new ArrayList<>();
    for (int[] p : prompts()) {
      try (ActivationCache c =
          MODEL.runWithCache(
              RunRequest.builder()
                  .prompt(p)
                  .forward(HookPoint.forLocation(INPUT))
                  .layers(Set.of(LAYER))
                  .build(),
              m)) {
        float[] all = c.get(HookPoint.forLocation(INPUT), LAYER, PassType.FORWARD).toFloatArray();
        int n = width();
        for (int t = 0; t < p.length; t++) {
          rows.add(Arrays.copyOfRange(all, t * n, (t + 1) * n));
        }
      }
    }
    return rows;
  }

  private static double nonzeroPerToken(NDManager m) {
    List<float[]> rows = activationRows(m);
    long nonzero = 0;
    for (float[] row : rows) {
      for (float v : row) {
        nonzero += v != 0 ? 1 : 0;
      }
    }
    return (double) nonzero / rows.size();
  }

  private static double fractionPositiveChannel0(NDManager m) {
    List<float[]> rows = activationRows(m);
    return rows.stream().filter(r -> r[0] > 0).count() / (double) rows.size();
  }

  /** Next-token cross-entropy of each unpadded prompt by hand, averaged over all positions. */
  private static double plainLoss(NDManager m) {
    double total = 0;
    int count = 0;
    for (int[] p : prompts()) {
      float[] logits =
          MODEL
              .logits(List.of(p), io.github.neuronexplainer.models.hooks.Hooks.none(), m)
              .toFloatArray();
      int vocab = logits.length / p.length;
      for (int t = 0; t + 1 < p.length; t++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) {
          max = Math.max(max, logits[t * vocab + v]);
        }
        double sum = 0;
        for (int v = 0; v < vocab; v++) {
          sum += Math.exp(logits[t * vocab + v] - max);
        }
        total += -(logits[t * vocab + p[t + 1]] - max - Math.log(sum));
        count++;
      }
    }
    return total / count;
  }
}
