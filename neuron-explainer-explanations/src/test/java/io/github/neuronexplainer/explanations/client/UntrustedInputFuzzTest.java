package io.github.neuronexplainer.explanations.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.NeuronSimulationResults;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Seeded mutation fuzzing of the readers of untrusted text: record and explanation JSON ({@link
 * FastDataclassJson}) and LLM API response bodies ({@link OpenAiClient} over a loopback server).
 * Each input must parse or end in the reader's documented exception (IllegalArgumentException, of
 * which DataclassFormatException is one; {@link ApiException}), within a time limit.
 */
class UntrustedInputFuzzTest {
  private static final long MAX_MILLIS_PER_INPUT = 2_000;

  /**
   * Character-level mutations of JSON text: structural characters, deletions, duplications, big
   * numbers.
   */
  static String mutate(String seed, Random random) {
    StringBuilder s = new StringBuilder(seed);
    String[] tokens = {
      "{",
      "}",
      "[",
      "]",
      ",",
      ":",
      "\"",
      "\\",
      "null",
      "1e999",
      "-0",
      "9999999999999999999999",
      "\\u0000",
      "NaN",
      "true"
    };
    int count = 1 + random.nextInt(4);
    for (int k = 0; k < count && s.length() > 0; k++) {
      int at = random.nextInt(s.length());
      switch (random.nextInt(5)) {
        case 0 -> s.deleteCharAt(at);
        case 1 -> s.insert(at, tokens[random.nextInt(tokens.length)]);
        case 2 -> s.setLength(at);
        case 3 -> {
          int end = Math.min(s.length(), at + 1 + random.nextInt(40));
          s.insert(at, s.substring(at, end));
        }
        default -> s.setCharAt(at, (char) random.nextInt(128));
      }
    }
    return s.toString();
  }

  private static <T extends RuntimeException> int fuzz(
      String name, String seed, int inputs, Class<T> documented, Function<String, ?> reader) {
    Random random = new Random(name.hashCode());
    int refused = 0;
    long start = System.nanoTime();
    for (int i = 0; i < inputs; i++) {
      String input = mutate(seed, random);
      long t0 = System.nanoTime();
      try {
        reader.apply(input);
      } catch (RuntimeException e) {
        if (!documented.isInstance(e)) {
          fail(name + " input #" + i + " ended in " + e + ": " + input, e);
        }
        refused++;
      } catch (Throwable t) {
        fail(name + " input #" + i + " ended in " + t + ": " + input, t);
      }
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(millis < MAX_MILLIS_PER_INPUT, name + " input #" + i + " took " + millis + " ms");
    }
    System.out.printf(
        "fuzz %s: %d inputs, %d refused, %.1f s%n",
        name, inputs, refused, (System.nanoTime() - start) / 1e9);
    assertTrue(refused > inputs / 10, name + ": only " + refused + " refused");
    return refused;
  }

  @Test
  void recordAndExplanationJson() {
    List<ActivationRecord> top = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      top.add(ActivationRecord.of(List.of(" a", " b\u00e9"), List.of(1.5 * i, -0.25)));
    }
    String record = FastDataclassJson.dumps(NeuronRecord.of(new NeuronId(7, 3), top, top));
    fuzz(
        "neuron-record-json",
        record,
        5000,
        IllegalArgumentException.class,
        text -> FastDataclassJson.loads(text, NeuronRecord.class));
    String explanations =
        "{\"neuron_id\":{\"idx\":7,\"layer\":3,\"dataclass_name\":\"NeuronId\"},"
            + "\"dataclass_name\":\"NeuronSimulationResults\",\"scored_explanation_or_baseline_list\":[]}";
    fuzz(
        "explanation-json",
        explanations,
        5000,
        IllegalArgumentException.class,
        text -> FastDataclassJson.loads(text, NeuronSimulationResults.class));
  }

  @Test
  void llmResponseBodies() throws Exception {
    String seed =
        "{\"id\":\"c1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},"
            + "\"logprobs\":{\"content\":[{\"token\":\"ok\",\"logprob\":-0.1,\"top_logprobs\":[]}]}}],"
            + "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}";
    AtomicReference<String> served = new AtomicReference<>(seed);
    try (LoopbackServer server =
            new LoopbackServer((n, body, exchange) -> LoopbackServer.Answer.ok(served.get()));
        OpenAiClient client =
            OpenAiClient.builder()
                .baseUrl(server.baseUrl())
                .apiKey("k")
                .model("m")
                .retryPolicy(RetryPolicy.ORIGINAL.withMaxAttempts(1))
                .defaultTimeout(Duration.ofSeconds(5))
                .build()) {
      ObjectNode request = ApiRequest.newBody();
      request.putArray("messages").addObject().put("role", "user").put("content", "hi");
      int inputs = 300; // ~30 ms per round trip here: HTTP, not parsing, is the cost
      fuzz(
          "llm-response-body",
          seed,
          inputs,
          ApiException.class,
          body -> {
            served.set(body);
            JsonNode node = client.generateBlocking(new ApiRequest(request, Duration.ofSeconds(5)));
            return node.path("choices").path(0).path("message").path("content").asText();
          });
      assertEquals(inputs, server.count.get(), "one request per body, no retries");
    }
  }
}
