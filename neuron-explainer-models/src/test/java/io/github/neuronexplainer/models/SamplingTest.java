package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplingTest {
  private static final Transformer MODEL = TinyModel.MODEL;
  private static final List<int[]> PROMPT = List.of(new int[] {464, 3139, 286, 4881, 318});

  @Test
  void seededSamplingIsReproducibleAndSeedsDiffer() {
    SamplingOptions hot = new SamplingOptions(8, 5.0, null, 42);
    int[] first = MODEL.sample(PROMPT, hot, Hooks.none()).tokens().get(0);
    assertArrayEquals(first, MODEL.sample(PROMPT, hot, Hooks.none()).tokens().get(0));
    Set<String> distinct = new HashSet<>();
    for (long seed = 0; seed < 5; seed++) {
      distinct.add(
          java.util.Arrays.toString(
              MODEL
                  .sample(PROMPT, new SamplingOptions(8, 5.0, null, seed), Hooks.none())
                  .tokens()
                  .get(0)));
    }
    assertTrue(distinct.size() > 1, "a hot random model should not repeat itself for every seed");
  }

  @Test
  void aTinyNucleusIsGreedy() {
    int[] greedy = MODEL.sample(PROMPT, SamplingOptions.greedy(4), Hooks.none()).tokens().get(0);
    int[] nucleus =
        MODEL.sample(PROMPT, new SamplingOptions(4, 1.0, 1e-9, 3), Hooks.none()).tokens().get(0);
    assertArrayEquals(greedy, nucleus);
  }

  @Test
  void textPromptsAreEncodedWithoutSpecialTokens() {
    SampleResult fromText =
        MODEL.sampleText(
            List.of("The capital of France is"), SamplingOptions.greedy(3), Hooks.none());
    assertArrayEquals(
        MODEL.sample(PROMPT, SamplingOptions.greedy(3), Hooks.none()).tokens().get(0),
        fromText.tokens().get(0));
    assertEquals(3, fromText.tokens().get(0).length);
    assertThrows(
        IllegalArgumentException.class,
        () ->
            MODEL.sampleText(List.of("a<|endoftext|>b"), SamplingOptions.greedy(1), Hooks.none()));
  }

  @Test
  void batchedPromptsOfUnequalLengthMatchTheirSoloRuns() {
    int[] shortPrompt = {464, 3139};
    int[] solo =
        MODEL.sample(List.of(shortPrompt), SamplingOptions.greedy(4), Hooks.none()).tokens().get(0);
    SampleResult both =
        MODEL.sample(List.of(PROMPT.get(0), shortPrompt), SamplingOptions.greedy(4), Hooks.none());
    assertArrayEquals(solo, both.tokens().get(1));
    assertNotEquals(0, both.strings().get(1).length());
  }

  @Test
  void badOptionsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(0, 0, null, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, -1, null, 0));
    assertThrows(IllegalArgumentException.class, () -> new SamplingOptions(1, 1, 1.5, 0));
    int[] nearlyFull = new int[MODEL.config().ctxWindow() - 1];
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> MODEL.sample(List.of(nearlyFull), SamplingOptions.greedy(3), Hooks.none()));
    assertTrue(e.getMessage().contains("context window"), e.getMessage());
  }
}
