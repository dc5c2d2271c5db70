package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A few seconds of the examples' {@code SoakRun} on the tiny model: mixed passes (forward,
 * forward+backward with a gradient editor and forced GCs between the forward and the backward pass,
 * sampling with the KV cache) under GC pressure, each giving the same gradients as the first, with
 * no array left behind.
 */
class SoakTest {
  private static final Transformer MODEL = TinyModel.MODEL;
  private static final int[] PROMPT = {464, 3139, 286, 4881, 318};

  private static RunRequest request() {
    Hooks hooks =
        Hooks.builder()
            .editGradient(
                HookPoint.POST_ATTN, Set.of(0), (g, c) -> g.mul(g.getManager().create(2f)))
            .forward(
                HookPoint.LOGITS,
                (x, c) -> {
                  System.gc(); // between the forward and the backward pass
                  return x;
                })
            .build();
    return RunRequest.builder()
        .prompt(PROMPT)
        .gradients(HookPoint.RESID_POST_EMB, HookPoint.MLP_POST_ACT)
        .loss(Loss.logitDiff(6342, 3576))
        .hooks(hooks)
        .build();
  }

  private static float[] gradient(NDManager caller) {
    try (ActivationCache cache = MODEL.runWithCache(request(), caller)) {
      return cache
          .get(ActivationLocationType.RESID_POST_EMBEDDING, -1, PassType.BACKWARD)
          .toFloatArray();
    }
  }

  @Test
  void mixedPassesUnderGcPressureStayCorrectAndLeaveNoArrays() {
    try (NDManager caller = NDManager.newBaseManager()) {
      float[] expected = gradient(caller);
      SampleResult expectedSample =
          MODEL.sample(List.of(PROMPT), SamplingOptions.greedy(3), Hooks.none());
      int arrays = ((BaseNDManager) caller).getManagedArrays().size();
      int modelArrays = MODEL.ownedArrayCount();
      for (int i = 0; i < 18; i++) {
        switch (i % 3) {
          case 0 -> assertArrayEquals(expected, gradient(caller), "pass " + i);
          case 1 -> {
            try (NDManager m = caller.newSubManager()) {
              MODEL.logits(List.of(PROMPT), Hooks.none(), m);
            }
          }
          default ->
              assertEquals(
                  expectedSample.tokens().get(0)[2],
                  MODEL
                      .sample(List.of(PROMPT), SamplingOptions.greedy(3), Hooks.none())
                      .tokens()
                      .get(0)[2]);
        }
        byte[] junk = new byte[8 << 20]; // garbage for the next collection
        junk[junk.length - 1] = 1;
      }
      assertEquals(arrays, ((BaseNDManager) caller).getManagedArrays().size());
      assertEquals(modelArrays, MODEL.ownedArrayCount());
    }
  }
}
