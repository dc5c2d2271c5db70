package io.github.neuronexplainer.models.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.models.Gpt2Tokenizer;
import io.github.neuronexplainer.models.PadSide;
import io.github.neuronexplainer.models.SampleResult;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.TokenBatch;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import io.github.neuronexplainer.models.weights.HostTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Greedy sampling (tokens, strings, every step's logits) and padded batches, against the pack. */
class SamplingConformanceTest {
  private static final ConformancePack PACK = ConformancePack.load();
  private static final NDManager MANAGER = NDManager.newBaseManager();
  private static final Transformer MODEL =
      Transformer.fromCheckpoint(Gpt2Checkpoint.load(PACK.modelDirs().get(0)), MANAGER);

  @AfterAll
  static void close() {
    MANAGER.close();
  }

  /** Last-position logits of each sampling step, [b] rows per step. */
  private static Hooks recordLastLogits(List<float[][]> steps) {
    return Hooks.builder()
        .forward(
            HookPoint.LOGITS,
            (x, ctx) -> {
              long b = x.getShape().get(0);
              long s = x.getShape().get(1);
              float[][] rows = new float[(int) b][];
              for (int i = 0; i < b; i++) {
                rows[i] = x.get(new NDIndex("{}, {}", i, s - 1)).toFloatArray();
              }
              steps.add(rows);
              return x;
            })
        .build();
  }

  @TestFactory
  Stream<DynamicTest> greedySamplingOfEachPrompt() {
    JsonNode golden = PACK.json("sampling.json");
    int numTokens = golden.path("num_tokens").asInt();
    assumeTrue(golden.path("temperature").asDouble() == 0, "only temperature-0 goldens are exact");
    List<DynamicTest> tests = new ArrayList<>();
    for (ConformancePack.Prompt prompt : PACK.prompts()) {
      JsonNode expected = golden.path("per_prompt").path(prompt.id());
      if (expected.isMissingNode()) {
        continue;
      }
      tests.add(
          DynamicTest.dynamicTest(
              prompt.id(),
              () -> {
                List<float[][]> steps = new ArrayList<>();
                SampleResult result =
                    MODEL.sample(
                        List.of(prompt.tokens()), SamplingOptions.greedy(numTokens), recordLastLogits(steps));
                assertArrayEquals(ints(expected.path("tokens")), result.tokens().get(0));
                assertEquals(expected.path("strings").asText(), result.strings().get(0));
                checkStepLogits(prompt.id(), expected.path("step_logits"), steps, 0);
              }));
    }
    return tests.stream();
  }

  @Test
  void batchedLeftPaddedSampling() {
    JsonNode golden = PACK.json("sampling.json").path("batched_left_padded");
    List<int[]> prompts = promptsInOrder(golden.path("prompt_order"));
    assumeTrue(prompts != null, "the pack lacks some prompts of the batched sample");
    List<float[][]> steps = new ArrayList<>();
    int numTokens = PACK.json("sampling.json").path("num_tokens").asInt();
    SampleResult result = MODEL.sample(prompts, SamplingOptions.greedy(numTokens), recordLastLogits(steps));
    JsonNode stepLogits = PACK.json("sampling.json").path("batched_left_padded_step_logits");
    for (int i = 0; i < prompts.size(); i++) {
      assertArrayEquals(ints(golden.path("tokens").get(i)), result.tokens().get(i));
      assertEquals(golden.path("strings").get(i).asText(), result.strings().get(i));
      checkStepLogits("batched/" + i, stepLogits.get(i), steps, i);
    }
  }

  @Test
  void samplingFromStrings() {
    JsonNode golden = PACK.json("sampling.json").path("from_strings");
    int numTokens = PACK.json("sampling.json").path("num_tokens").asInt();
    int checked = 0;
    for (ConformancePack.Prompt prompt : PACK.prompts()) {
      JsonNode expected = golden.path(prompt.id());
      if (expected.isMissingNode()) {
        continue;
      }
      // the original encodes string prompts without special tokens
      int[] tokens = Gpt2Tokenizer.instance().encodeOrdinary(prompt.text());
      assertArrayEquals(prompt.tokens(), tokens, "tokenizer differs from the original on " + prompt.id());
      SampleResult result = MODEL.sample(List.of(tokens), SamplingOptions.greedy(numTokens), Hooks.none());
      assertArrayEquals(ints(expected), result.tokens().get(0));
      checked++;
    }
    assumeTrue(checked > 0, "no from_strings goldens for the pack's prompts");
  }

  @Test
  void paddedBatchesGiveTheOriginalsLogits() {
    assumeTrue(PACK.hasGolden("batched.safetensors"), "the pack has no batched.safetensors");
    Map<String, HostTensor> golden = PACK.tensors("batched.safetensors");
    List<int[]> prompts = promptsInOrder(PACK.json("batched.json").path("prompt_order"));
    assumeTrue(prompts != null, "the pack lacks some prompts of the batch");
    for (PadSide side : PadSide.values()) {
      String prefix = side == PadSide.RIGHT ? "right_padded/" : "left_padded/";
      TokenBatch batch = TokenBatch.of(prompts, side);
      assertArrayEquals(golden.get(prefix + "tokens").toLongArray(), batch.tokens(), prefix + "tokens");
      try (NDManager m = MANAGER.newSubManager()) {
        NDArray logits = logitsOf(batch, m);
        long vocab = logits.getShape().get(2);
        Tolerance.check(
            prefix + "logits_first2048",
            golden.get(prefix + "logits_first2048").toFloatArray(),
            logits.get(new NDIndex(":, :, :2048")).toFloatArray());
        Tolerance.check(
            prefix + "logits_last_position",
            golden.get(prefix + "logits_last_position").toFloatArray(),
            logits.get(new NDIndex(":, -1, :")).toFloatArray());
        Tolerance.check(
            prefix + "logits_logsumexp",
            golden.get(prefix + "logits_logsumexp").toFloatArray(),
            logits.logSoftmax(-1).neg().add(logits).get(new NDIndex(":, :, 0")).toFloatArray());
        assertArrayEquals(
            golden.get(prefix + "logits_argmax").toLongArray(),
            logits.argMax(-1).toLongArray(),
            prefix + "argmax over " + vocab);
      }
    }
  }

  private static NDArray logitsOf(TokenBatch batch, NDManager m) {
    NDArray tokens = batch.tokensArray(m);
    NDArray pad = batch.padArray(m);
    return Transformer.withGradMode(
        false, () -> MODEL.forward(tokens, pad, null, MODEL.newPass(Hooks.none(), m, false)));
  }

  private static void checkStepLogits(String what, JsonNode expectedSteps, List<float[][]> steps, int row) {
    assertEquals(expectedSteps.size(), steps.size(), what + ": number of steps");
    for (int step = 0; step < steps.size(); step++) {
      float[] logits = steps.get(step)[row];
      JsonNode e = expectedSteps.get(step);
      int[] top = ints(e.path("top5_tokens"));
      float[] expectedTop = new float[top.length];
      float[] actualTop = new float[top.length];
      for (int i = 0; i < top.length; i++) {
        expectedTop[i] = (float) e.path("top5_logits").get(i).asDouble();
        actualTop[i] = logits[top[i]];
      }
      Tolerance.check(what + " step " + step + " top-5 logits", expectedTop, actualTop);
      assertEquals(top[0], argmax(logits), what + " step " + step + " argmax");
      Tolerance.check(
          what + " step " + step + " logsumexp",
          new float[] {(float) e.path("logsumexp").asDouble()},
          new float[] {(float) logSumExp(logits)});
    }
  }

  private static List<int[]> promptsInOrder(JsonNode order) {
    Map<String, int[]> byId =
        PACK.prompts().stream().collect(Collectors.toMap(ConformancePack.Prompt::id, ConformancePack.Prompt::tokens));
    List<int[]> prompts = new ArrayList<>();
    for (JsonNode id : order) {
      if (!byId.containsKey(id.asText())) {
        return null;
      }
      prompts.add(byId.get(id.asText()));
    }
    return prompts;
  }

  private static int argmax(float[] values) {
    int best = 0;
    for (int i = 1; i < values.length; i++) {
      if (values[i] > values[best]) {
        best = i;
      }
    }
    return best;
  }

  private static double logSumExp(float[] values) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : values) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : values) {
      sum += Math.exp(v - max);
    }
    return max + Math.log(sum);
  }

  private static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }
}
