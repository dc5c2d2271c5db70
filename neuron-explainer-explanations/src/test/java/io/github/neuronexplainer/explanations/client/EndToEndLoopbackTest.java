package io.github.neuronexplainer.explanations.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.ScoredSimulation;
import io.github.neuronexplainer.explanations.Json;
import io.github.neuronexplainer.explanations.client.LoopbackServer.Answer;
import io.github.neuronexplainer.explanations.explainer.GenerationOptions;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.scoring.Scoring;
import io.github.neuronexplainer.explanations.scoring.UncalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The README flow over real HTTP: explain, simulate and score against a loopback "model". */
class EndToEndLoopbackTest {
  /** Explains everything as " cats."; simulates 10 on tokens containing "cat", else 0. */
  static Answer model(String requestBody) {
    JsonNode body = Json.parse(requestBody);
    JsonNode messages = body.get("messages");
    ObjectNode response = Json.MAPPER.createObjectNode();
    ArrayNode choices = response.putArray("choices");
    if (body.has("n")) {
      for (int i = 0; i < body.get("n").intValue(); i++) {
        choices
            .addObject()
            .put("index", i)
            .putObject("message")
            .put("role", "assistant")
            .put("content", " cats.");
      }
    } else {
      JsonNode query = Json.parse(messages.get(messages.size() - 1).get("content").asText());
      ArrayNode acts = Json.MAPPER.createArrayNode();
      query
          .get("activations")
          .forEach(
              t ->
                  acts.addObject()
                      .put("token", t.get("token").asText())
                      .put("activation", t.get("token").asText().contains("cat") ? 10 : 0));
      ObjectNode answer = Json.MAPPER.createObjectNode();
      answer.set("activations", acts);
      choices
          .addObject()
          .put("index", 0)
          .putObject("message")
          .put("role", "assistant")
          .put("content", Json.write(answer));
    }
    response
        .putObject("usage")
        .put("prompt_tokens", 100)
        .put("completion_tokens", 10)
        .put("total_tokens", 110);
    return Answer.ok(Json.write(response));
  }

  @Test
  void explainSimulateScore() throws Exception {
    try (var server = new LoopbackServer((n, body, e) -> model(body));
        var client =
            OpenAiClient.builder().baseUrl(server.baseUrl()).apiKey("k").model("gpt-4o").build()) {
      List<ActivationRecord> train =
          List.of(ActivationRecord.of(List.of(" a", " cat", " sat"), List.of(0.0, 3.0, 0.0)));
      List<String> explanations =
          TokenActivationPairExplainer.builder()
              .client(client)
              .build()
              .generateExplanationsBlocking(train, GenerationOptions.DEFAULTS.withNumSamples(2));
      assertEquals(List.of(" cats.", " cats."), explanations);

      var simulator =
          new UncalibratedNeuronSimulator(
              new LogprobFreeExplanationTokenSimulator(
                  client, explanations.get(0), FewShotExampleSet.COLANGV2));
      List<ActivationRecord> valid =
          List.of(
              ActivationRecord.of(List.of(" my", " cat", " slept"), List.of(0.0, 2.0, 0.0)),
              ActivationRecord.of(List.of(" dogs", " bark"), List.of(0.0, 0.0)));
      ScoredSimulation scored = LlmClient.await(Scoring.simulateAndScore(simulator, valid));
      assertEquals(1.0, scored.preferredScore(), 1e-12);
      assertEquals(
          ActivationScale.NEURON_ACTIVATIONS,
          scored.scoredSequenceSimulations().get(0).sequenceSimulation().activationScale());
      assertEquals(3, server.count.get());
      assertTrue(
          server
              .bodies
              .get(0)
              .startsWith(
                  "{\"n\":2,\"max_tokens\":60,\"temperature\":1.0,\"top_p\":1.0,\"messages\":"),
          server.bodies.get(0));
      assertTrue(
          server
              .bodies
              .get(1)
              .contains("\"max_tokens\":2000,\"temperature\":0,\"model\":\"gpt-4o\"}"));
      assertEquals(330, client.usage().totalTokens());
    }
  }
}
