package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * toString prints lists and shapes, not array identities; records holding arrays compare contents.
 */
class ReadableResultsTest {

  @Test
  void sampleResultPrintsTokenListsAndQuotedStrings() {
    SampleResult r = new SampleResult(List.of(new int[] {27352, 27352}), List.of(" Roaming\n"));
    assertEquals("SampleResult[tokens=[[27352, 27352]], strings=[\" Roaming\\n\"]]", r.toString());
  }

  @Test
  void sampleResultsWithEqualTokensAreEqual() {
    SampleResult a = new SampleResult(List.of(new int[] {1, 2}, new int[] {3}), List.of("a", "b"));
    SampleResult b = new SampleResult(List.of(new int[] {1, 2}, new int[] {3}), List.of("a", "b"));
    SampleResult c = new SampleResult(List.of(new int[] {1, 2}, new int[] {4}), List.of("a", "b"));
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, c);
  }

  @Test
  void sampleResultTokensCannotBeChangedFromOutside() {
    int[] tokens = {5, 6};
    SampleResult r = new SampleResult(List.of(tokens), List.of("x"));
    tokens[0] = 0;
    r.tokens().get(0)[1] = 0;
    assertEquals("[5, 6]", java.util.Arrays.toString(r.tokens().get(0)));
  }

  @Test
  void tokenBatchPrintsRowsWithPadsAndComparesContents() {
    TokenBatch left =
        TokenBatch.of(List.of(new int[] {464, 3139, 286}, new int[] {318}), PadSide.LEFT);
    assertEquals(
        "TokenBatch[2 x 3, tokens=[[464, 3139, 286], [_, _, 318]], lastPositions=[2, 2]]",
        left.toString());
    TokenBatch same =
        TokenBatch.of(List.of(new int[] {464, 3139, 286}, new int[] {318}), PadSide.LEFT);
    TokenBatch right =
        TokenBatch.of(List.of(new int[] {464, 3139, 286}, new int[] {318}), PadSide.RIGHT);
    assertEquals(left, same);
    assertEquals(left.hashCode(), same.hashCode());
    assertNotEquals(left, right);
    assertEquals(
        "TokenBatch[2 x 3, tokens=[[464, 3139, 286], [318, _, _]], lastPositions=[2, 0]]",
        right.toString());
  }

  @Test
  void activationCachePrintsKeysWithShapes() {
    try (NDManager manager = NDManager.newBaseManager();
        ActivationCache cache =
            TinyModel.MODEL.runWithCache(
                RunRequest.builder()
                    .prompt(new int[] {464, 3139, 286})
                    .forward(HookPoint.MLP_POST_ACT)
                    .build(),
                manager)) {
      String s = cache.toString();
      assertTrue(
          s.startsWith(
              "ActivationCache[TokenBatch[1 x 3, tokens=[[464, 3139, 286]], lastPositions=[2]], 2 tensors: "
                  + "fwd/mlp/post_act/0 (1, 3, 256), fwd/mlp/post_act/1 (1, 3, 256), logits (1, 3, 50257)"),
          s);
      assertFalse(s.contains("@"), s);
      assertTrue(cache.contains(HookPoint.MLP_POST_ACT, 1, PassType.FORWARD));
    }
  }
}
