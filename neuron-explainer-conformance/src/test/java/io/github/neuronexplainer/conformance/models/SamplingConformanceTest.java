package io.github.neuronexplainer.conformance.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.Tolerance;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Greedy sampling (tokens, strings, every step's logits) and padded batches, against every pack.
 */
class SamplingConformanceTest {
  private static final NDManager MANAGER = NDManager.newBaseManager();
  private static final Map<Pack, Transformer> MODELS = new LinkedHashMap<>();

  private static synchronized Transformer model(Pack pack) {
    return MODELS.computeIfAbsent(
        pack, p -> Transformer.fromCheckpoint(Gpt2Checkpoint.load(p.modelDirs().get(0)), MANAGER));
  }

  static List<Pack> packs() {
    return Pack.all();
  }

  @AfterAll
  static void close() {
    MODELS.values().forEach(Transformer::close);
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
  Stream<DynamicTest> greedySamplingOfEachPromptOfEachPack() {
    return Pack.all().stream().flatMap(SamplingConformanceTest::greedySamplingOfEachPrompt);
  }

  private static Stream<DynamicTest> greedySamplingOfEachPrompt(Pack pack) {
    Transformer model = model(pack);
    JsonNode golden = pack.json("sampling.json");
    int numTokens = golden.path("num_tokens").asInt();
    assumeTrue(golden.path("temperature").asDouble() == 0, "only temperature-0 goldens are exact");
    List<DynamicTest> tests = new ArrayList<>();
    for (Pack.Prompt prompt : pack.prompts()) {
      JsonNode expected = golden.path("per_prompt").path(prompt.id());
      if (expected.isMissingNode()) {
        continue;
      }
      tests.add(
          DynamicTest.dynamicTest(
              pack + " " + prompt.id(),
              () -> {
                List<float[][]> steps = new ArrayList<>();
                SampleResult result =
                    model.sample(
                        List.of(prompt.tokens()),
                        SamplingOptions.greedy(numTokens),
                        recordLastLogits(steps));
                assertArrayEquals(ints(expected.path("tokens")), result.tokens().get(0));
                assertEquals(expected.path("strings").asText(), result.strings().get(0));
                checkStepLogits(prompt.id(), expected.path("step_logits"), steps, 0);
              }));
    }
    return tests.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void batchedLeftPaddedSampling(Pack pack) {
    Transformer model = model(pack);
    JsonNode golden = pack.json("sampling.json").path("batched_left_padded");
    List<int[]> prompts = promptsInOrder(pack, golden.path("prompt_order"));
    assumeTrue(prompts != null, "the pack lacks some prompts of the batched sample");
    List<float[][]> steps = new ArrayList<>();
    int numTokens = pack.json("sampling.json").path("num_tokens").asInt();
    SampleResult result =
        model.sample(prompts, SamplingOptions.greedy(numTokens), recordLastLogits(steps));
    JsonNode stepLogits = pack.json("sampling.json").path("batched_left_padded_step_logits");
    for (int i = 0; i < prompts.size(); i++) {
      assertArrayEquals(ints(golden.path("tokens").get(i)), result.tokens().get(i));
      assertEquals(golden.path("strings").get(i).asText(), result.strings().get(i));
      checkStepLogits("batched/" + i, stepLogits.get(i), steps, i);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void samplingFromStrings(Pack pack) {
    Transformer model = model(pack);
    JsonNode golden = pack.json("sampling.json").path("from_strings");
    int numTokens = pack.json("sampling.json").path("num_tokens").asInt();
    int checked = 0;
    for (Pack.Prompt prompt : pack.prompts()) {
      JsonNode expected = golden.path(prompt.id());
      if (expected.isMissingNode()) {
        continue;
      }
      // the original encodes string prompts without special tokens
      int[] tokens = Gpt2Tokenizer.instance().encodeOrdinary(prompt.text());
      assertArrayEquals(
          prompt.tokens(), tokens, "tokenizer differs from the original on " + prompt.id());
      SampleResult result =
          model.sample(List.of(tokens), SamplingOptions.greedy(numTokens), Hooks.none());
      assertArrayEquals(ints(expected), result.tokens().get(0));
      checked++;
    }
    assumeTrue(checked > 0, "no from_strings goldens for the pack's prompts");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void paddedBatchesGiveTheOriginalsLogits(Pack pack) {
    Transformer model = model(pack);
    assumeTrue(pack.hasGolden("batched.safetensors"), "the pack has no batched.safetensors");
    Map<String, HostTensor> golden = pack.tensors("batched.safetensors");
    List<int[]> prompts = promptsInOrder(pack, pack.json("batched.json").path("prompt_order"));
    assumeTrue(prompts != null, "the pack lacks some prompts of the batch");
    for (PadSide side : PadSide.values()) {
      String prefix = side == PadSide.RIGHT ? "right_padded/" : "left_padded/";
      TokenBatch batch = TokenBatch.of(prompts, side);
      assertArrayEquals(
          golden.get(prefix + "tokens").toLongArray(), batch.tokens(), prefix + "tokens");
      try (NDManager m = MANAGER.newSubManager()) {
        NDArray logits = model.logits(prompts, side, Hooks.none(), m);
        long vocab = logits.getShape().get(2);
        Tolerance.check(
            prefix + "logits_first2048",
            logits.get(new NDIndex(":, :, :2048")).toFloatArray(),
            golden.get(prefix + "logits_first2048").toFloatArray());
        Tolerance.check(
            prefix + "logits_last_position",
            logits.get(new NDIndex(":, -1, :")).toFloatArray(),
            golden.get(prefix + "logits_last_position").toFloatArray());
        Tolerance.check(
            prefix + "logits_logsumexp",
            logits.logSoftmax(-1).neg().add(logits).get(new NDIndex(":, :, 0")).toFloatArray(),
            golden.get(prefix + "logits_logsumexp").toFloatArray());
        assertArrayEquals(
            golden.get(prefix + "logits_argmax").toLongArray(),
            logits.argMax(-1).toLongArray(),
            prefix + "argmax over " + vocab);
      }
    }
  }

  private static void checkStepLogits(
      String what, JsonNode expectedSteps, List<float[][]> steps, int row) {
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
      Tolerance.check(what + " step " + step + " top-5 logits", actualTop, expectedTop);
      assertEquals(top[0], argmax(logits), what + " step " + step + " argmax");
      Tolerance.check(
          what + " step " + step + " logsumexp",
          new float[] {(float) logSumExp(logits)},
          new float[] {(float) e.path("logsumexp").asDouble()});
    }
  }

  private static List<int[]> promptsInOrder(Pack pack, JsonNode order) {
    Map<String, int[]> byId =
        pack.prompts().stream().collect(Collectors.toMap(Pack.Prompt::id, Pack.Prompt::tokens));
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
