package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.TestPack;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The original's AutoencoderHooks semantics: add_error on/off, ablation, gradients, points. */
class AutoencoderSpliceTest {
  private static final TestPack PACK = TestPack.load();
  private static final NDManager M = NDManager.newBaseManager();
  private static final Transformer MODEL =
      Transformer.fromCheckpoint(Gpt2Checkpoint.load(PACK.modelDirs().get(0)), M);
  private static final TestPack.Prompt PROMPT = PACK.prompts().get(0);

  @AfterAll
  static void close() {
    MODEL.close();
    M.close();
  }

  private static SaePack.Family family(ActivationLocationType input) {
    return SaePack.families(PACK).values().stream()
        .filter(f -> f.input() == input)
        .findFirst()
        .orElseThrow();
  }

  private static LazyAutoencoderContext context(ActivationLocationType input) {
    SaePack.Family f = family(input);
    return f.context(PACK, f.safetensorsConfig(), M);
  }

  private static float[] logits(Hooks hooks) {
    try (NDManager m = M.newSubManager()) {
      return MODEL.logits(List.of(PROMPT.tokens()), hooks, m).toFloatArray();
    }
  }

  private static double maxDiff(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @Test
  void withTheErrorTermTheModelIsUnchangedAndWithoutItTheReconstructionReplacesTheActivation() {
    float[] plain = logits(Hooks.none());
    for (ActivationLocationType input :
        List.of(ActivationLocationType.MLP_POST_ACT, ActivationLocationType.RESID_DELTA_ATTN)) {
      try (LazyAutoencoderContext ctx = context(input)) {
        assertClose(input + " add_error", plain, logits(AutoencoderSplice.hooks(ctx)));
        float[] replaced = logits(AutoencoderSplice.of(ctx, false).hooks());
        assertTrue(maxDiff(plain, replaced) > 1e-3, input + ": the reconstruction is not exact");
        Hooks byHand =
            Hooks.builder()
                .forward(
                    HookPoint.forLocation(input),
                    ctx.layers(),
                    (x, c) ->
                        ctx.autoencoder(c.layer()).decode(ctx.autoencoder(c.layer()).encode(x)))
                .build();
        assertClose(input + " add_error=false", logits(byHand), replaced);
      }
    }
  }

  @Test
  void ablatingALatentChangesTheOutputByItsDecoderColumn() {
    ActivationLocationType input = ActivationLocationType.MLP_POST_ACT;
    try (LazyAutoencoderContext ctx = context(input);
        NDManager m = M.newSubManager()) {
      int layer = ctx.layers().get(ctx.layers().size() - 1);
      AutoencoderSplice splice = AutoencoderSplice.of(ctx);
      HookPoint latents = splice.point(ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT);
      HookPoint reconstruction = AutoencoderSplice.reconstructionPoint(input);
      HookPoint error = splice.point(ActivationLocationType.ONLINE_MLP_AUTOENCODER_ERROR);
      RunRequest.Builder plain =
          RunRequest.builder()
              .prompt(PROMPT.tokens())
              .hooks(splice.hooks())
              .forward(latents, reconstruction, error);
      ActivationCache before = MODEL.runWithCache(plain.build(), m);
      NDArray z = before.get(latents, layer, PassType.FORWARD);
      long[] flat = z.reshape(-1, z.getShape().get(2)).argMax(1).toLongArray();
      int token = flat.length - 1;
      int latent = (int) flat[token];
      float value = z.get(new NDIndex("0, {}, {}", token, latent)).getFloat();
      assertTrue(value > 0, "the most active latent is active");
      Hooks ablation =
          Hooks.builder()
              .forward(
                  latents,
                  List.of(layer),
                  (x, c) ->
                      x.sub(
                          x.get(new NDIndex("..., {}:{}", latent, latent + 1))
                              .mul(c.passManager().create(oneHot(x.getShape().get(2), latent)))))
              .build();
      ActivationCache after =
          MODEL.runWithCache(
              RunRequest.builder()
                  .prompt(PROMPT.tokens())
                  .hooks(splice.hooks().plus(ablation))
                  .forward(latents, reconstruction, error)
                  .build(),
              m);
      assertEquals(
          0f,
          after
              .get(latents, layer, PassType.FORWARD)
              .get(new NDIndex("0, {}, {}", token, latent))
              .getFloat());
      NDArray column = ctx.autoencoder(layer).decoderWeight(m).get(new NDIndex(":, {}", latent));
      NDArray delta =
          after
              .get(reconstruction, layer, PassType.FORWARD)
              .get(new NDIndex("0, {}", token))
              .sub(
                  before
                      .get(reconstruction, layer, PassType.FORWARD)
                      .get(new NDIndex("0, {}", token)));
      assertClose("reconstruction change", column.mul(-value).toFloatArray(), delta.toFloatArray());
      // with add_error the error term is computed from the unablated latents
      assertClose(
          "error unchanged",
          before.get(error, layer, PassType.FORWARD).toFloatArray(),
          after.get(error, layer, PassType.FORWARD).toFloatArray());
    }
  }

  private static float[] oneHot(long n, int index) {
    float[] v = new float[(int) n];
    v[index] = 1;
    return v;
  }

  @Test
  void latentGradientsFlowThroughTheDecoder() {
    ActivationLocationType input = ActivationLocationType.RESID_DELTA_ATTN;
    try (LazyAutoencoderContext ctx = context(input);
        NDManager m = M.newSubManager()) {
      AutoencoderSplice splice = AutoencoderSplice.of(ctx);
      HookPoint latents = splice.point(ActivationLocationType.ONLINE_AUTOENCODER_LATENT);
      HookPoint reconstruction = AutoencoderSplice.reconstructionPoint(input);
      ActivationCache cache =
          MODEL.runWithCache(
              RunRequest.builder()
                  .prompt(PROMPT.tokens())
                  .hooks(splice.hooks())
                  .gradients(latents, reconstruction)
                  .loss(Loss.logitDiff(PROMPT.targetToken(), PROMPT.distractorToken()))
                  .build(),
              m);
      for (int layer : ctx.layers()) {
        NDArray gradReconstruction = cache.get(reconstruction, layer, PassType.BACKWARD);
        NDArray expected = gradReconstruction.matMul(ctx.autoencoder(layer).decoderWeight(m));
        NDArray actual = cache.get(latents, layer, PassType.BACKWARD);
        assertClose("d loss / d latents", expected.toFloatArray(), actual.toFloatArray());
        assertTrue(actual.abs().sum().getFloat() > 0, "nonzero latent gradient");
      }
    }
  }

  @Test
  void onlineLocationsMapToTheSubPointsAsInTheOriginalsHookGraph() {
    try (LazyAutoencoderContext mlp = context(ActivationLocationType.MLP_POST_ACT);
        LazyAutoencoderContext residMlp = context(ActivationLocationType.RESID_DELTA_MLP);
        LazyAutoencoderContext attn = context(ActivationLocationType.RESID_DELTA_ATTN)) {
      AutoencoderSplice single = AutoencoderSplice.of(mlp);
      assertEquals(
          Map.of(
              ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT,
              HookPoint.custom("autoencoder/mlp_post_act/latents", true),
              ActivationLocationType.ONLINE_MLP_AUTOENCODER_ERROR,
              HookPoint.custom("autoencoder/mlp_post_act/error", true),
              ActivationLocationType.ONLINE_AUTOENCODER_LATENT,
              HookPoint.custom("autoencoder/mlp_post_act/latents", true)),
          single.points());
      assertTrue(single.addsError());
      assertEquals(
          HookPoint.custom("autoencoder/resid_delta_mlp/error", true),
          AutoencoderSplice.of(residMlp)
              .point(ActivationLocationType.ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR));
      AutoencoderSplice multi = AutoencoderSplice.of(LazyMultiAutoencoderContext.of(mlp, attn));
      assertFalse(multi.points().containsKey(ActivationLocationType.ONLINE_AUTOENCODER_LATENT));
      assertEquals(
          HookPoint.custom("autoencoder/resid_delta_attn/error", true),
          multi.point(ActivationLocationType.ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR));
      IllegalArgumentException generic =
          assertThrows(
              IllegalArgumentException.class,
              () -> multi.point(ActivationLocationType.ONLINE_AUTOENCODER_LATENT));
      assertTrue(generic.getMessage().contains("exactly one"), generic.getMessage());
      AutoencoderConfig preAct =
          new AutoencoderConfig(ActivationLocationType.MLP_PRE_ACT, Map.of(0, "x.pt"));
      try (LazyAutoencoderContext bad = LazyAutoencoderContext.of(preAct, M)) {
        assertThrows(IllegalArgumentException.class, () -> AutoencoderSplice.of(bad));
      }
    }
  }

  /** Element-wise |actual − expected| ≤ 1e-5 + 1e-4·|expected|. */
  private static void assertClose(String what, float[] expected, float[] actual) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-5 + 1e-4 * Math.abs(expected[i]), what + " at " + i);
    }
  }
}
