package io.github.neuronexplainer.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.InteractiveModel;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The head ranking and ablations of the main example, on the shipped toy model, against the same
 * quantities computed directly on the hooked model (no debugger API).
 */
class HeadAblationsTest {
  private static final String PROMPT = "And God said, Let there be";
  private static final String TARGET = " light";
  private static final String DISTRACTOR = " darkness";

  private static StandardModelContext context;
  private static HeadAblations.Result result;

  @BeforeAll
  static void run() {
    context =
        StandardModelContext.load(
            Path.of("..", WhyThisToken.TOY_MODEL).toAbsolutePath().normalize().toString());
    InteractiveModel debugger = InteractiveModel.builder(context).build();
    result =
        HeadAblations.run(
            debugger, context.nLayers(), context.nAttentionHeads(), PROMPT, TARGET, DISTRACTOR, 3);
  }

  @AfterAll
  static void close() {
    context.close();
  }

  @Test
  void attributionIsTheActTimesGradOfEachHeadsPatternAndTheCleanDifferenceIsTheLogitDifference() {
    Transformer model = context.getOrCreateModel();
    int[] tokens = context.encode(PROMPT);
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache =
            model.runWithCache(
                RunRequest.builder()
                    .prompt(tokens)
                    .forward(HookPoint.ATTN_QK_PROBS, HookPoint.LOGITS)
                    .gradients(HookPoint.ATTN_QK_PROBS)
                    .loss(loss())
                    .build(),
                m)) {
      NDArray logits = cache.get(ActivationLocationType.LOGITS, -1, PassType.FORWARD);
      int last = tokens.length - 1;
      float difference =
          logits.getFloat(0, last, context.encodeTokenString(TARGET))
              - logits.getFloat(0, last, context.encodeTokenString(DISTRACTOR));
      assertEquals(difference, result.cleanDifference(), 1e-4);
      double largest = 0;
      for (int layer = 0; layer < context.nLayers(); layer++) {
        NDArray probs = cache.get(ActivationLocationType.ATTN_QK_PROBS, layer, PassType.FORWARD);
        NDArray grads = cache.get(ActivationLocationType.ATTN_QK_PROBS, layer, PassType.BACKWARD);
        for (int head = 0; head < context.nAttentionHeads(); head++) {
          NDIndex ofHead = new NDIndex("..., {}", head);
          double actTimesGrad = probs.get(ofHead).mul(grads.get(ofHead)).sum().getFloat();
          largest = Math.max(largest, Math.abs(actTimesGrad));
          for (HeadAblations.HeadEffect effect : result.strongest()) {
            if (effect.layer() == layer && effect.head() == head) {
              assertEquals(actTimesGrad, effect.actTimesGrad(), 1e-5, effect.name());
            }
          }
        }
      }
      assertEquals(
          largest,
          Math.abs(result.strongest().get(0).actTimesGrad()),
          1e-5,
          "the strongest head comes first");
    }
  }

  @Test
  void zeroingAHeadInTheDebuggerEqualsZeroingItsPatternInTheModel() {
    for (HeadAblations.HeadEffect effect : result.strongest()) {
      int head = effect.head();
      Hooks zeroHead =
          Hooks.builder()
              .forward(
                  HookPoint.ATTN_QK_PROBS,
                  Set.of(effect.layer()),
                  (x, ctx) -> {
                    float[] keep = new float[(int) x.getShape().get(3)];
                    java.util.Arrays.fill(keep, 1f);
                    keep[head] = 0f;
                    return x.mul(x.getManager().create(keep));
                  })
              .build();
      assertEquals(differenceWith(zeroHead), effect.ablatedDifference(), 1e-4, effect.name());
    }
    assertEquals(
        differenceWith(
            Hooks.builder()
                .forward(HookPoint.MLP_POST_ACT, Set.of(0), (x, ctx) -> x.zerosLike())
                .build()),
        result.mlpLayerAblated().get(0),
        1e-4,
        "L0 MLP zeroed");
  }

  @Test
  void onTheToyModelTheAblationConfirmsTheAttributionAndHeadsAndTheFirstMlpCarryThePreference() {
    assertTrue(result.confirmsStrongest(), result.toString());
    HeadAblations.HeadEffect top = result.strongest().get(0);
    assertEquals(
        Math.signum(-top.actTimesGrad()),
        Math.signum(top.change(result.cleanDifference())),
        result.toString());
    assertTrue(
        result.cleanDifference() - result.mlpLayerAblated().get(0) > 0.5 * result.cleanDifference(),
        "zeroing the L0 MLP removes most of the preference: " + result);
    assertTrue(
        result.cleanDifference() - result.allStrongestAblated() > 0.5 * result.cleanDifference(),
        "zeroing the 3 strongest heads together removes most of the preference: " + result);
  }

  private static Loss loss() {
    return Loss.logitDiff(context.encodeTokenString(TARGET), context.encodeTokenString(DISTRACTOR));
  }

  private static double differenceWith(Hooks hooks) {
    int[] tokens = context.encode(PROMPT);
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray logits = context.getOrCreateModel().logits(List.of(tokens), hooks, m);
      int last = tokens.length - 1;
      return logits.getFloat(0, last, context.encodeTokenString(TARGET))
          - logits.getFloat(0, last, context.encodeTokenString(DISTRACTOR));
    }
  }
}
