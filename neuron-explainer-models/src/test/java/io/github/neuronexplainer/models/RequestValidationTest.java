package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Every index a caller passes is checked, with a message naming the valid range. */
class RequestValidationTest {
  private static final Transformer MODEL = TinyModel.MODEL;
  private static final int[] PROMPT = {464, 3139, 286};

  private static String refusal(Runnable call) {
    return assertThrows(IllegalArgumentException.class, call::run).getMessage();
  }

  @Test
  void layersOutsideTheModelAreRefused() {
    int n = MODEL.config().nLayers();
    Hooks tooHigh = Hooks.builder().forward(HookPoint.MLP_POST_ACT, Set.of(n), (x, c) -> x).build();
    Hooks negative =
        Hooks.builder().forward(HookPoint.MLP_POST_ACT, Set.of(-1), (x, c) -> x).build();
    try (NDManager m = NDManager.newBaseManager()) {
      assertEquals(
          "Layer "
              + n
              + " in a hook at "
              + HookPoint.MLP_POST_ACT
              + " is outside the model's layers [0, "
              + n
              + ")",
          refusal(() -> MODEL.logits(List.of(PROMPT), tooHigh, m)));
      assertEquals(
          "Layer -1 in a hook at "
              + HookPoint.MLP_POST_ACT
              + " is outside the model's layers [0, "
              + n
              + ")",
          refusal(() -> MODEL.sample(List.of(PROMPT), SamplingOptions.greedy(1), negative)));
      assertEquals(
          "resid/post_emb has no layers (it runs once per pass); don't give layers [0]",
          refusal(() -> Hooks.builder().forward(HookPoint.RESID_POST_EMB, Set.of(0), (x, c) -> x)));
      assertEquals(
          "Layer " + (n + 3) + " in RunRequest.layers is outside the model's layers [0, " + n + ")",
          refusal(
              () ->
                  MODEL.runWithCache(
                      RunRequest.builder()
                          .prompt(PROMPT)
                          .allLocations(false)
                          .layers(List.of(0, n + 3))
                          .build(),
                      m)));
      // a valid request still runs
      MODEL
          .runWithCache(
              RunRequest.builder()
                  .prompt(PROMPT)
                  .allLocations(false)
                  .layers(List.of(n - 1))
                  .build(),
              m)
          .close();
    }
  }

  @Test
  void tokenIdsAndLossTokensOutsideTheVocabularyAreRefused() {
    int vocab = MODEL.config().nVocab();
    try (NDManager m = NDManager.newBaseManager()) {
      assertEquals(
          "Token id " + vocab + " is out of range for a vocabulary of " + vocab,
          refusal(() -> MODEL.logits(List.<int[]>of(new int[] {1, vocab}), Hooks.none(), m)));
      assertEquals(
          "Loss token -2 is outside the vocabulary of " + vocab,
          refusal(
              () ->
                  MODEL.runWithCache(
                      RunRequest.builder().prompt(PROMPT).loss(Loss.logitDiff(-2, 1)).build(), m)));
    }
  }
}
