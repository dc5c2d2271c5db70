package io.github.neuronexplainer.conformance.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.Tolerance;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import io.github.neuronexplainer.models.weights.HostTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Every forward and backward activation of every prompt of the pack, from every copy of the model
 * the pack has (the original's .pt pieces and/or the HuggingFace safetensors).
 */
class ActivationConformanceTest {
  private static final NDManager MANAGER = NDManager.newBaseManager();
  static double maxError;

  @AfterAll
  static void report() {
    System.out.println("Activation conformance: max abs error " + maxError);
    MANAGER.close();
  }

  @TestFactory
  Stream<DynamicContainer> everyActivationOfEveryPromptOfEveryPack() {
    return Pack.all().stream()
        .map(
            pack ->
                DynamicContainer.dynamicContainer(
                    pack.toString(), everyActivationOfEveryPrompt(pack)));
  }

  private static Stream<DynamicContainer> everyActivationOfEveryPrompt(Pack pack) {
    List<DynamicContainer> perModel = new ArrayList<>();
    for (Path modelDir : pack.modelDirs()) {
      Transformer model = Transformer.fromCheckpoint(Gpt2Checkpoint.load(modelDir), MANAGER);
      List<DynamicContainer> perPrompt = new ArrayList<>();
      for (Pack.Prompt prompt : pack.prompts()) {
        perPrompt.add(
            DynamicContainer.dynamicContainer(prompt.id(), promptTests(pack, model, prompt)));
      }
      perModel.add(DynamicContainer.dynamicContainer(modelDir.getFileName().toString(), perPrompt));
    }
    return perModel.stream();
  }

  private static Stream<DynamicTest> promptTests(Pack pack, Transformer model, Pack.Prompt prompt) {
    Map<String, HostTensor> golden = pack.tensors(prompt.id() + "/activations.safetensors");
    JsonNode meta = pack.json(prompt.id() + "/activations.json");
    RunRequest request =
        RunRequest.builder()
            .prompt(prompt.tokens())
            .allLocations(true)
            .loss(Loss.logitDiff(prompt.targetToken(), prompt.distractorToken()))
            .build();
    ActivationCache cache = model.runWithCache(request, MANAGER);
    List<DynamicTest> tests = new ArrayList<>();
    tests.add(
        DynamicTest.dynamicTest(
            "tokens",
            () -> assertArrayEquals(golden.get("tokens").toLongArray(), toLongs(prompt.tokens()))));
    JsonNode lossNode = meta.path("loss");
    if (lossNode.isNumber()) {
      tests.add(
          DynamicTest.dynamicTest(
              "loss", () -> assertEquals(lossNode.asDouble(), cache.loss(), 1e-5)));
    }
    for (Map.Entry<String, HostTensor> e : golden.entrySet()) {
      String name = e.getKey();
      if (name.equals("tokens")) {
        continue;
      }
      String[] parts = name.split("/"); // fwd|bwd / LOCATION / layer
      PassType pass = parts[0].equals("fwd") ? PassType.FORWARD : PassType.BACKWARD;
      ActivationLocationType location = ActivationLocationType.valueOf(parts[1]);
      int layer = LayerIndex.parse(parts[2]);
      tests.add(
          DynamicTest.dynamicTest(
              name,
              () -> {
                NDArray actual = cache.get(location, layer, pass).get(0);
                assertArrayEquals(e.getValue().shape(), actual.getShape().getShape(), name);
                maxError =
                    Math.max(
                        maxError,
                        Tolerance.check(name, actual.toFloatArray(), e.getValue().toFloatArray()));
              }));
    }
    assertFalse(tests.size() < 3, "the golden file has no activations");
    return tests.stream();
  }

  private static long[] toLongs(int[] tokens) {
    long[] out = new long[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      out[i] = tokens[i];
    }
    return out;
  }
}
