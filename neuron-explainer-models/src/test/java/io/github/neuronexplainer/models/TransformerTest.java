package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TransformerTest {
  private static final Transformer MODEL = TinyModel.MODEL;
  private static final int[] PROMPT = {464, 3139, 286, 4881, 318}; // "The capital of France is"

  private static float[] logits(Transformer model, Hooks hooks) {
    try (NDManager m = NDManager.newBaseManager()) {
      return model.logits(List.of(PROMPT), hooks, m).toFloatArray();
    }
  }

  private static double maxAbsDiff(float[] a, float[] b) {
    double max = 0;
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs(a[i] - b[i]));
    }
    return max;
  }

  @Test
  void promptLongerThanTheContextIsRejected() {
    int[] tooLong = new int[MODEL.config().ctxWindow() + 1];
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MODEL.logits(List.of(tooLong), Hooks.none(), TinyModel.MANAGER));
    assertTrue(
        e.getMessage().contains("context window of " + MODEL.config().ctxWindow()), e.getMessage());
  }

  @Test
  void tokenIdsOutOfRangeAreRejected() {
    for (int bad : new int[] {-1, MODEL.config().nVocab()}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> MODEL.logits(List.of(new int[] {464, bad}), Hooks.none(), TinyModel.MANAGER));
      assertTrue(e.getMessage().contains("Token id " + bad + " is out of range"), e.getMessage());
    }
  }

  @Test
  void emptyPromptsAreRejected() {
    IllegalArgumentException empty =
        assertThrows(
            IllegalArgumentException.class,
            () -> MODEL.logits(List.of(new int[0]), Hooks.none(), TinyModel.MANAGER));
    assertTrue(empty.getMessage().contains("Prompt 0 is empty"), empty.getMessage());
    IllegalArgumentException none =
        assertThrows(
            IllegalArgumentException.class,
            () -> MODEL.logits(List.of(), Hooks.none(), TinyModel.MANAGER));
    assertTrue(none.getMessage().contains("at least one prompt"), none.getMessage());
  }

  @Test
  void unknownModelNameListsTheKnownOnes() {
    try (StandardModelContext context = StandardModelContext.load("gpt-7-ultra")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, context::getOrCreateModel);
      assertTrue(e.getMessage().contains("gpt2-small"), e.getMessage());
    }
  }

  @Test
  void removingEveryLayerOutputLeavesTheEmbeddingThroughTheFinalLayerNorm() {
    Hooks ablateAll =
        Hooks.builder()
            .forward(HookPoint.DELTA_ATTN, (x, ctx) -> x.zerosLike())
            .forward(HookPoint.DELTA_MLP, (x, ctx) -> x.zerosLike())
            .build();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray actual = MODEL.logits(List.of(PROMPT), ablateAll, m);
      NDArray tokens = m.create(new long[] {464, 3139, 286, 4881, 318});
      NDArray embedded =
          MODEL
              .parameter("tok_embed.weight")
              .get(m, new ai.djl.ndarray.index.NDIndex("{}", tokens))
              .add(
                  MODEL
                      .parameter("pos_embed.weight")
                      .get(m, new ai.djl.ndarray.index.NDIndex(":5")));
      NDArray normed =
          TransformerMath.layerNorm(
              embedded,
              MODEL.parameter("final_ln.weight"),
              MODEL.parameter("final_ln.bias"),
              1e-5f);
      NDArray expected = normed.matMul(MODEL.parameter("unembed.weight").transpose());
      assertTrue(maxAbsDiff(expected.toFloatArray(), actual.toFloatArray()) < 1e-5);
    }
  }

  @Test
  void layerFiltersLimitHooksToTheirLayers() {
    float[] plain = logits(MODEL, Hooks.none());
    float[] layer0 =
        logits(
            MODEL,
            Hooks.builder()
                .forward(HookPoint.MLP_POST_ACT, Set.of(0), (x, c) -> x.zerosLike())
                .build());
    float[] layer1 =
        logits(
            MODEL,
            Hooks.builder()
                .forward(HookPoint.MLP_POST_ACT, Set.of(1), (x, c) -> x.zerosLike())
                .build());
    assertTrue(maxAbsDiff(plain, layer0) > 1e-4);
    assertTrue(maxAbsDiff(plain, layer1) > 1e-4);
    assertTrue(maxAbsDiff(layer0, layer1) > 1e-4);
    assertThrows(
        IllegalArgumentException.class,
        () -> Hooks.builder().forward(HookPoint.LOGITS, Set.of(0), (x, c) -> x));
  }

  @Test
  void hookThatChangesTheShapeIsAClearError() {
    Hooks bad =
        Hooks.builder().forward(HookPoint.MLP_PRE_ACT, (x, c) -> x.sum(new int[] {-1})).build();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> logits(MODEL, bad));
    assertTrue(e.getMessage().contains("changed the shape"), e.getMessage());
  }

  @Test
  void hookedSoftmaxDenominatorGivesTheSameProbabilities() {
    float[] plain = logits(MODEL, Hooks.none());
    float[] split =
        logits(
            MODEL,
            Hooks.builder().forward(HookPoint.ATTN_QK_SOFTMAX_DENOMINATOR, (x, c) -> x).build());
    assertTrue(maxAbsDiff(plain, split) < 1e-5);
  }

  @Test
  void simplifiedModelComputesTheSameLogits() {
    try (NDManager m = NDManager.newBaseManager()) {
      Transformer simple = MODEL.simplified(m);
      assertTrue(maxAbsDiff(logits(MODEL, Hooks.none()), logits(simple, Hooks.none())) < 1e-4);
      assertArrayEquals(
          new float[MODEL.config().dModel()],
          simple.parameter("xf_layers.0.ln_1.bias").toFloatArray());
      simple.close();
    }
  }

  @Test
  void partsOfTheForwardPassComposeToTheWhole() {
    try (NDManager m = NDManager.newBaseManager()) {
      TokenBatch batch = TokenBatch.of(List.of(PROMPT), PadSide.RIGHT);
      NDArray tokens = batch.tokensArray(m);
      var pass = MODEL.newPass(Hooks.none(), m, false);
      NDArray logits =
          io.github.neuronexplainer.models.internal.GradMode.with(
              false,
              () ->
                  MODEL.runUnembed(
                      MODEL.runTorso(MODEL.runEmbed(tokens, null, null, pass), null, null, pass),
                      pass));
      assertArrayEquals(logits(MODEL, Hooks.none()), logits.toFloatArray());
    }
  }

  @Test
  void gradientEditorsScaleEverythingUpstream() {
    Loss loss = Loss.logitDiff(6342, 3576);
    RunRequest.Builder base =
        RunRequest.builder()
            .prompt(PROMPT)
            .gradients(HookPoint.RESID_POST_EMB, HookPoint.POST_MLP)
            .loss(loss);
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache plain = MODEL.runWithCache(base.build(), m);
        ActivationCache doubled =
            MODEL.runWithCache(
                base.hooks(
                        Hooks.builder()
                            .editGradient(
                                HookPoint.POST_MLP,
                                Set.of(MODEL.config().nLayers() - 1),
                                (g, c) -> g.mul(2))
                            .build())
                    .build(),
                m)) {
      float[] embPlain =
          plain
              .get(ActivationLocationType.RESID_POST_EMBEDDING, LayerIndex.NONE, PassType.BACKWARD)
              .toFloatArray();
      float[] embDoubled =
          doubled
              .get(ActivationLocationType.RESID_POST_EMBEDDING, LayerIndex.NONE, PassType.BACKWARD)
              .toFloatArray();
      double maxAbs = 0;
      for (int i = 0; i < embPlain.length; i++) {
        assertEquals(2 * embPlain[i], embDoubled[i], 1e-6);
        maxAbs = Math.max(maxAbs, Math.abs(embPlain[i]));
      }
      assertTrue(maxAbs > 1e-4, "the test needs a non-zero gradient");
      // the recording reader was registered after the editor, so it sees the gradient before
      // editing
      int last = MODEL.config().nLayers() - 1;
      assertArrayEquals(
          plain.get(ActivationLocationType.RESID_POST_MLP, last, PassType.BACKWARD).toFloatArray(),
          doubled
              .get(ActivationLocationType.RESID_POST_MLP, last, PassType.BACKWARD)
              .toFloatArray());
    }
  }

  @Test
  void fakeGradientWithZeroLossReachesOnlyUpstreamPoints() {
    int last = PROMPT.length - 1;
    Hooks fake =
        Hooks.builder()
            .editGradient(
                HookPoint.MLP_POST_ACT,
                Set.of(1),
                (g, c) -> {
                  NDArray oneHot = g.zerosLike();
                  oneHot.set(new ai.djl.ndarray.index.NDIndex("0, {}, 0", last), 1f);
                  return oneHot;
                })
            .build();
    RunRequest request =
        RunRequest.builder()
            .prompt(PROMPT)
            .gradients(HookPoint.MLP_PRE_ACT, HookPoint.POST_MLP)
            .loss(Loss.zero())
            .hooks(fake)
            .build();
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache = MODEL.runWithCache(request, m)) {
      float[] downstream =
          cache.get(ActivationLocationType.RESID_POST_MLP, 1, PassType.BACKWARD).toFloatArray();
      assertArrayEquals(new float[downstream.length], downstream);
      // d post_act[0, last, 0] / d pre_act[0, last, 0] = gelu'(pre) and zero elsewhere in that
      // layer
      NDArray preGrad = cache.get(ActivationLocationType.MLP_PRE_ACT, 1, PassType.BACKWARD);
      float[] g = preGrad.toFloatArray();
      int dff = MODEL.config().dFf();
      int nonZero = 0;
      for (int i = 0; i < g.length; i++) {
        if (g[i] != 0) {
          nonZero++;
          assertEquals(last * dff, i);
        }
      }
      assertEquals(1, nonZero);
      assertNotEquals(
          0f,
          cache
              .get(ActivationLocationType.MLP_PRE_ACT, 0, PassType.BACKWARD)
              .abs()
              .sum()
              .getFloat());
    }
  }

  @Test
  void gradientsSurviveAGarbageCollectionBetweenForwardAndBackward() {
    // DJL's Number overloads (x.mul(2f)) keep scalars in GC-able Java buffers that autograd reads
    // in the backward pass; the model must not use them.
    RunRequest.Builder base =
        RunRequest.builder().prompt(PROMPT).allLocations(true).loss(Loss.logitDiff(6342, 3576));
    Hooks collectGarbage =
        Hooks.builder()
            .forward(
                HookPoint.LOGITS,
                (x, c) -> {
                  for (int i = 0; i < 3; i++) {
                    System.gc();
                    byte[] junk = new byte[32 << 20];
                    junk[junk.length - 1] = 1;
                  }
                  return x;
                })
            .build();
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache plain = MODEL.runWithCache(base.build(), m);
        ActivationCache collected = MODEL.runWithCache(base.hooks(collectGarbage).build(), m)) {
      for (var e : plain.tensors().entrySet()) {
        assertArrayEquals(
            e.getValue().toFloatArray(),
            collected.tensors().get(e.getKey()).toFloatArray(),
            e.getKey().toString());
      }
    }
  }

  @Test
  void thousandPassesKeepNativeMemoryFlat() throws Exception {
    RunRequest withGradients =
        RunRequest.builder()
            .prompt(PROMPT)
            .allLocations(true)
            .loss(Loss.logitDiff(6342, 3576))
            .build();
    try (NDManager caller = NDManager.newBaseManager()) {
      for (int i = 0; i < 20; i++) {
        MODEL.runWithCache(withGradients, caller).close();
      }
      int modelArrays = MODEL.ownedArrayCount();
      int callerArrays = ((ai.djl.ndarray.BaseNDManager) caller).getManagedArrays().size();
      long before = residentKilobytes();
      for (int i = 0; i < 1000; i++) {
        if (i % 10 == 0) {
          try (ActivationCache cache = MODEL.runWithCache(withGradients, caller)) {
            assertEquals((14 * MODEL.config().nLayers() + 3) * 2, cache.tensors().size());
          }
        } else {
          try (NDManager m = caller.newSubManager()) {
            MODEL.logits(List.of(PROMPT), Hooks.none(), m);
          }
        }
      }
      assertEquals(modelArrays, MODEL.ownedArrayCount(), "arrays leaked into the model's manager");
      assertEquals(callerArrays, ((ai.djl.ndarray.BaseNDManager) caller).getManagedArrays().size());
      long growthKb = residentKilobytes() - before;
      // A pass with gradients allocates ~3 MB natively, so a leak would add gigabytes; the bound
      // leaves room for the JVM heap's first touch of its pages.
      assertTrue(
          growthKb < 512 * 1024,
          "resident memory grew by " + growthKb + " kB over 1000 passes (100 with gradients)");
    }
  }

  private static long residentKilobytes() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }
}
