package io.github.neuronexplainer.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.explanations.client.OpenAiClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The explanation example end to end on the shipped model, SAE and corpus, against a loopback
 * stand-in for an OpenAI-compatible server: it explains every latent as " the LORD." and simulates
 * 10 on tokens containing "LORD", 0 elsewhere.
 */
class ExplainLatentTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int TOKENS = 64 * 50;

  @Test
  void collectsExplainsSimulatesAndScoresTheShippedSae() throws IOException {
    Path modelDir = Path.of("..", WhyThisToken.TOY_MODEL).toAbsolutePath().normalize();
    AtomicInteger explainerCalls = new AtomicInteger();
    AtomicInteger simulatorCalls = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/v1/chat/completions",
        exchange -> {
          byte[] reply =
              answer(JSON.readTree(exchange.getRequestBody()), explainerCalls, simulatorCalls);
          exchange.getResponseHeaders().add("Content-Type", "application/json");
          exchange.sendResponseHeaders(200, reply.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(reply);
          }
        });
    server.start();
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    try (OpenAiClient client =
        OpenAiClient.builder()
            .baseUrl("http://127.0.0.1:" + server.getAddress().getPort() + "/v1")
            .apiKey("test-key")
            .model("stand-in")
            .build()) {
      ExplainLatent.Result result =
          ExplainLatent.run(
              new ExplainLatent.Options(modelDir, TOKENS, null),
              client,
              new PrintStream(printed, true, StandardCharsets.UTF_8));

      assertEquals(1024, result.records(), "one record per SAE latent");
      assertEquals(TOKENS, result.tokens());
      assertTrue(result.tokensPerSecond() > 0);
      assertEquals(20, result.record().mostPositiveActivationRecords().size());
      assertEquals(50, result.record().randomSample().size());
      assertEquals(64, result.record().randomSample().get(0).tokens().size());
      assertEquals(" the LORD.", result.explanation());
      assertEquals(1, explainerCalls.get());

      List<ActivationRecord> valid =
          result.record().validActivationRecords(new ActivationRecordSliceParams(5));
      assertEquals(valid.size(), simulatorCalls.get(), "one simulation per held-out excerpt");
      List<Double> real = new ArrayList<>();
      List<Double> simulated = new ArrayList<>();
      for (ActivationRecord record : valid) {
        for (int i = 0; i < record.tokens().size(); i++) {
          real.add(record.activations().get(i).doubleValue());
          simulated.add(record.tokens().get(i).contains("LORD") ? 10.0 : 0.0);
        }
      }
      assertEquals(correlation(real, simulated), result.scored().preferredScore(), 1e-9);
      String output = printed.toString(StandardCharsets.UTF_8);
      assertTrue(output.contains("Explanation: \"the LORD.\""), output);
      assertTrue(output.contains("tokens/s"), output);
    } finally {
      server.stop(0);
    }
  }

  /**
   * The explainer asks for n samples; the simulator sends the tokens as JSON and wants them back.
   */
  private static byte[] answer(
      JsonNode body, AtomicInteger explainerCalls, AtomicInteger simulatorCalls)
      throws IOException {
    ObjectNode response = JSON.createObjectNode();
    ArrayNode choices = response.putArray("choices");
    if (body.has("n")) {
      explainerCalls.incrementAndGet();
      for (int i = 0; i < body.get("n").intValue(); i++) {
        choices
            .addObject()
            .put("index", i)
            .putObject("message")
            .put("role", "assistant")
            .put("content", " the LORD.");
      }
    } else {
      simulatorCalls.incrementAndGet();
      JsonNode messages = body.get("messages");
      JsonNode query = JSON.readTree(messages.get(messages.size() - 1).get("content").asText());
      ObjectNode simulation = JSON.createObjectNode();
      ArrayNode activations = simulation.putArray("activations");
      query
          .get("activations")
          .forEach(
              t ->
                  activations
                      .addObject()
                      .put("token", t.get("token").asText())
                      .put("activation", t.get("token").asText().contains("LORD") ? 10 : 0));
      choices
          .addObject()
          .put("index", 0)
          .putObject("message")
          .put("role", "assistant")
          .put("content", JSON.writeValueAsString(simulation));
    }
    response
        .putObject("usage")
        .put("prompt_tokens", 100)
        .put("completion_tokens", 10)
        .put("total_tokens", 110);
    return JSON.writeValueAsBytes(response);
  }

  private static double correlation(List<Double> x, List<Double> y) {
    double mx = x.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    double my = y.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < x.size(); i++) {
      sxy += (x.get(i) - mx) * (y.get(i) - my);
      sxx += (x.get(i) - mx) * (x.get(i) - mx);
      syy += (y.get(i) - my) * (y.get(i) - my);
    }
    return sxy / Math.sqrt(sxx * syy);
  }
}
