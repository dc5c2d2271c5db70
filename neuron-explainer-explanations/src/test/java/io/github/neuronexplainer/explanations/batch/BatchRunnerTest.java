package io.github.neuronexplainer.explanations.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.explanations.Json;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.client.ApiRequest;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.explainer.GenerationOptions;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.scoring.UncalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchRunnerTest {
  /**
   * Explains every neuron as "cats"; simulates 10 on tokens containing "cat"; fails explanation
   * prompts holding "FAIL".
   */
  static final class FakeModel implements LlmClient {
    final AtomicInteger calls = new AtomicInteger();
    volatile boolean failMarked = true;

    @Override
    public CompletableFuture<JsonNode> generate(ApiRequest request) {
      calls.incrementAndGet();
      ObjectNode body = request.body();
      JsonNode messages = body.get("messages");
      String last = messages.get(messages.size() - 1).get("content").asText();
      if (body.has("n")) {
        if (failMarked && last.contains("FAIL")) {
          return CompletableFuture.failedFuture(new ApiException("HTTP 500 from fake", true, 500));
        }
        return CompletableFuture.completedFuture(
            Json.parse("{\"choices\":[{\"message\":{\"content\":\" cats.\"}}]}"));
      }
      JsonNode query = Json.parse(last);
      ArrayNode acts = Json.MAPPER.createArrayNode();
      for (JsonNode t : query.get("activations")) {
        acts.addObject()
            .put("token", t.get("token").asText())
            .put("activation", t.get("token").asText().contains("cat") ? 10 : 0);
      }
      ObjectNode answer = Json.MAPPER.createObjectNode();
      answer.set("activations", acts);
      ObjectNode response = Json.MAPPER.createObjectNode();
      response
          .putArray("choices")
          .addObject()
          .putObject("message")
          .put("content", Json.write(answer));
      return CompletableFuture.completedFuture(response);
    }
  }

  static NeuronRecord neuron(int index, boolean marked) {
    List<ActivationRecord> top = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      top.add(
          ActivationRecord.of(
              List.of(" the", " cat", marked ? " FAIL" : " sat"), List.of(0.0, 5.0, 0.0)));
    }
    List<ActivationRecord> random = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      random.add(ActivationRecord.of(List.of(" a", " dog", " cat"), List.of(0.0, 0.0, 5.0)));
    }
    return NeuronRecord.of(new NeuronId(index, 0), top, random);
  }

  static BatchRunner runner(FakeModel model, Path out, List<BatchProgress> progress) {
    TokenActivationPairExplainer explainer =
        TokenActivationPairExplainer.builder().client(model).build();
    return BatchRunner.builder()
        .explainer(records -> explainer.generateExplanations(records, GenerationOptions.DEFAULTS))
        .simulatorFactory(
            (e, r) ->
                CompletableFuture.completedFuture(
                    new UncalibratedNeuronSimulator(
                        new LogprobFreeExplanationTokenSimulator(
                            model, e, FewShotExampleSet.COLANGV2))))
        .sliceParams(new ActivationRecordSliceParams(2))
        .maxConcurrentNeurons(2)
        .output(out)
        .progress(progress::add)
        .usageSource(
            () ->
                new io.github.neuronexplainer.explanations.client.UsageTotals(
                    model.calls.get(), 0, 0, 0, 0, 0, 0, 0))
        .build();
  }

  @Test
  void explainsScoresAppendsAndResumes(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("results.jsonl");
    FakeModel model = new FakeModel();
    List<NeuronRecord> records = List.of(neuron(0, false), neuron(1, true), neuron(2, false));
    List<BatchProgress> progress = new CopyOnWriteArrayList<>();

    BatchSummary first = runner(model, out, progress).run(records);
    assertEquals(3, first.total());
    assertEquals(0, first.skipped());
    assertEquals(2, first.succeeded());
    assertEquals(1, first.failures().size());
    assertEquals(new NeuronId(1, 0), first.failures().get(0).neuronId());
    assertTrue(first.failures().get(0).error().contains("HTTP 500"));
    assertEquals(3, progress.size());
    assertEquals(
        3 + 2 * 4,
        first.usage().requests(),
        "3 explanation requests, 4 simulations for each success");
    assertEquals(3, progress.get(2).finished());
    assertEquals(
        1.0, first.bestScores().get(new NeuronId(0, 0)), 1e-12, "perfect simulation scores 1");
    assertEquals(2, Files.readAllLines(out).size());
    assertEquals(1, Files.readAllLines(dir.resolve("results.jsonl.failures.jsonl")).size());
    var results = runner(model, out, new ArrayList<>()).readResults();
    assertEquals(" cats.", results.get(0).scoredExplanations().get(0).explanation());
    assertEquals(
        4,
        results
            .get(0)
            .scoredExplanations()
            .get(0)
            .scoredSimulation()
            .scoredSequenceSimulations()
            .size(),
        "valid split = 2 top + 2 random records");

    int callsBefore = model.calls.get();
    model.failMarked = false;
    progress.clear();
    BatchSummary rerun = runner(model, out, progress).run(records);
    assertEquals(2, rerun.skipped());
    assertEquals(1, rerun.succeeded());
    assertEquals(List.of(), rerun.failures());
    assertEquals(
        1 + 4,
        model.calls.get() - callsBefore,
        "only the failed neuron is redone: 1 explanation + 4 simulations");
    assertEquals(5, rerun.usage().requests(), "usage covers this run only");
    assertEquals(3, Files.readAllLines(out).size());
    assertEquals(3, runner(model, out, new ArrayList<>()).completedNeurons().size());
  }

  @Test
  void toleratesATruncatedLastLine(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("r.jsonl");
    FakeModel model = new FakeModel();
    runner(model, out, new ArrayList<>()).run(List.of(neuron(0, false)));
    Files.writeString(
        out,
        Files.readString(out) + "{\"neuron_id\":{\"neuron_",
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
    assertEquals(1, runner(model, out, new ArrayList<>()).completedNeurons().size());
  }

  @Test
  void theFailuresFileSitsNextToTheOutputAndHostileOutputNamesAreRefused(@TempDir Path dir) {
    FakeModel model = new FakeModel();
    BatchRunner ok = runner(model, dir.resolve("sub/../results.jsonl"), new ArrayList<>());
    assertEquals(dir.toAbsolutePath().resolve("results.jsonl.failures.jsonl"), ok.failuresFile());
    for (String name : List.of("a\\b.jsonl", "x\n.jsonl", "%2e%2e")) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> runner(model, dir.resolve(name), new ArrayList<>()),
              name);
      assertTrue(e.getMessage().startsWith("Refusing batch output file name"), e.getMessage());
    }
  }
}
