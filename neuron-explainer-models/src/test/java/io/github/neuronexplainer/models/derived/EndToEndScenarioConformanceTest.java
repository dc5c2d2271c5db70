package io.github.neuronexplainer.models.derived;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.ConformancePack;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.GoldenComparison;
import io.github.neuronexplainer.core.derived.GoldenFixture;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.autoencoder.AutoencoderConfig;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End to end: the hooked tiny GPT-2 runs each prompt once with the logit-difference loss, and
 * every DST of each loss and edge scenario (all requested in ONE call, like topk.json's combined store) is
 * compared with the original's goldens. The autoencoders are the models module's own
 * ({@link LazyAutoencoderContext}), not the core test fixture's.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EndToEndScenarioConformanceTest {
  private static final Logger LOG =
      LoggerFactory.getLogger(EndToEndScenarioConformanceTest.class);

  private GoldenFixture fixture;
  private StandardModelContext model;
  private NDManager autoencoderManager;
  private final Map<String, LazyAutoencoderContext> autoencoders = new HashMap<>();

  /** The models module's own autoencoders (not the core test fixture's) for an SAE kind. */
  private LazyAutoencoderContext autoencoder(String kind) {
    return autoencoders.computeIfAbsent(
        kind,
        k ->
            LazyAutoencoderContext.of(
                AutoencoderConfig.forLayers(
                    ActivationLocationType.valueOf(k.toUpperCase(java.util.Locale.ROOT)),
                    ConformancePack.saeDir().resolve(k).resolve("{layer}.safetensors").toString(),
                    model.nLayers()),
                autoencoderManager));
  }

  private List<AutoencoderContext> scenarioAutoencoders(String scenario) {
    List<AutoencoderContext> list = new ArrayList<>();
    for (String kind : GoldenFixture.SCENARIO_AUTOENCODERS.get(scenario)) {
      list.add(autoencoder(kind));
    }
    return list;
  }

  private DstConfig.Builder scenarioConfig(String scenario) {
    List<AutoencoderContext> list = scenarioAutoencoders(scenario);
    DstConfig.Builder builder = DstConfig.builder().modelContext(model);
    return list.size() == 1
        ? builder.autoencoderContext(list.get(0))
        : builder.multiAutoencoderContext(
            io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext.of(list));
  }

  @BeforeAll
  void load() {
    fixture = new GoldenFixture();
    model = StandardModelContext.load(ConformancePack.modelDir().toString());
    autoencoderManager = NDManager.newBaseManager();
  }

  @AfterAll
  void close() {
    autoencoders.values().forEach(LazyAutoencoderContext::close);
    autoencoderManager.close();
    model.close();
    fixture.close();
  }

  static Stream<Arguments> promptsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (String prompt : ConformancePack.promptIds()) {
      for (String scenario : GoldenFixture.SCENARIO_AUTOENCODERS.keySet()) {
        // The loss and edge scenarios back-propagate from the logit difference; the trace
        // scenarios need a backward pass started at an activation, which the model's
        // run-with-cache does not offer (its losses are functions of the logits).
        if (scenario.startsWith("loss_") || scenario.startsWith("edge_")) {
          args.add(Arguments.of(prompt, scenario));
        }
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("promptsAndScenarios")
  void oneCallReproducesEveryGoldenEntry(String prompt, String scenario) {
    JsonNode promptInfo = null;
    for (JsonNode p : ConformancePack.readJson(ConformancePack.golden().resolve("manifest.json")).get("prompts")) {
      if (p.get("id").asText().equals(prompt)) {
        promptInfo = p;
      }
    }
    int[] tokens = new int[promptInfo.get("tokens").size()];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = promptInfo.get("tokens").get(i).asInt();
    }
    JsonNode scenarioInfo = GoldenFixture.dstJson(prompt).get("scenarios").get(scenario);
    List<DstAndConfig> requests = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = scenarioInfo.get("dsts").fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().get("status").asText().equals("ok")) {
        DerivedScalarType dst = DerivedScalarType.valueOf(e.getKey());
        requests.add(
            new DstAndConfig(
                dst,
                fixture
                    .scenarioSettings(scenario, prompt)
                    .apply(scenarioConfig(scenario))
                    .deriveGradients(GoldenFixture.deriveGradients(dst, e.getValue()))
                    .build()));
      }
    }
    Loss loss =
        Loss.logitDiff(promptInfo.get("target_token").asInt(), promptInfo.get("distractor_token").asInt());
    List<String> failures = new ArrayList<>();
    double maxError = 0;
    int entries = 0;
    try (NDManager manager = NDManager.newBaseManager();
        PromptDerivedScalars result =
            DerivedScalarComputation.getDerivedScalarsForPrompt(
                model.getOrCreateModel(),
                tokens,
                loss,
                scenarioAutoencoders(scenario),
                requests,
                manager)) {
      assertEquals(scenarioInfo.get("loss").asDouble(), result.loss(), 1e-5, "loss");
      Map<String, Map<String, NDArray>> goldens = new HashMap<>();
      for (DstAndConfig request : requests) {
        JsonNode info = scenarioInfo.get("dsts").get(request.dst().name());
        for (Iterator<Map.Entry<String, JsonNode>> it = info.get("entries").fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> entry = it.next();
          String storedIn = entry.getValue().get("stored_in").asText();
          Map<String, NDArray> golden =
              goldens.computeIfAbsent(
                  storedIn,
                  s ->
                      ConformancePack.readSafetensors(
                          ConformancePack.golden().resolve(prompt).resolve("dst_" + s + ".safetensors"),
                          manager));
          String[] parts = entry.getKey().split("/");
          NDArray actual =
              result
                  .derivedScalars()
                  .get(request.dst(), PassType.fromValue(parts[1]))
                  .get(LayerIndex.parse(parts[2]));
          maxError =
              Math.max(
                  maxError,
                  GoldenComparison.compare(entry.getKey(), actual, golden.get(entry.getKey()), failures));
          entries++;
        }
        assertEquals(
            info.get("entries").size(),
            result.derivedScalars().entries().entrySet().stream()
                .filter(e -> e.getKey().dst() == request.dst())
                .mapToInt(e -> e.getValue().activationsByLayer().size())
                .sum(),
            request.dst() + ": number of (pass, layer) entries");
      }
    }
    LOG.info("{} {}: {} DSTs, {} entries end to end, max abs error {}", prompt, scenario, requests.size(), entries, maxError);
    if (!failures.isEmpty()) {
      fail(failures.size() + " failures:\n" + String.join("\n", failures));
    }
    assertTrue(entries > 0);
  }
}
