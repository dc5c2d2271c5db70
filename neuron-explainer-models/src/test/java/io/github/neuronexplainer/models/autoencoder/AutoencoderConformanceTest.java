package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.conformance.ConformancePack;
import io.github.neuronexplainer.models.conformance.Tolerance;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import io.github.neuronexplainer.models.weights.HostTensor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The pack's SAE scenarios ({@code golden/<prompt>/dst.json}, the scenarios with a {@code
 * dst_loss_*} file), for every prompt. In each scenario the SAE families injected are those whose
 * {@code ONLINE_*_ERROR} DST succeeded. Checked per entry {@code <DST>/forward/<layer>}:
 *
 * <ul>
 *   <li>offline latents ({@code MLP_/ATTENTION_AUTOENCODER_LATENT}, generic {@code
 *       AUTOENCODER_LATENT}): the SAE applied to the golden activations (for a RESID_DELTA_MLP SAE
 *       the original encodes {@code mlp_post_act · W_outᵀ}, without the output bias);
 *   <li>online locations ({@code ONLINE_*_LATENT}, {@code ONLINE_*_ERROR}): recorded at the splice's
 *       points in a forward pass with the SAEs injected;
 *   <li>{@code ONLINE_*_ACT_TIMES_GRAD}: the recorded online tensor times its gradient (logit-diff
 *       loss), which checks that latents and errors are differentiable like any activation;
 *   <li>raw activations of the plain model: the spliced pass only changes them by float noise.
 * </ul>
 */
class AutoencoderConformanceTest {
  private static final ConformancePack PACK = ConformancePack.load();
  private static final NDManager MANAGER = NDManager.newBaseManager();
  private static final Map<String, SaePack.Family> FAMILIES = SaePack.families(PACK);
  private static final Map<String, LazyAutoencoderContext> CONTEXTS = new LinkedHashMap<>();
  private static final Map<String, int[]> COUNTS = new TreeMap<>();
  private static final Map<String, Double> MAX_ERRORS = new TreeMap<>();
  private static Transformer model;

  @AfterAll
  static void report() {
    COUNTS.forEach(
        (key, n) ->
            System.out.printf(
                "SAE conformance %-40s offline %3d online %3d grad %3d raw %3d max abs error %.3g%n",
                key, n[0], n[1], n[2], n[3], MAX_ERRORS.getOrDefault(key, 0.0)));
    CONTEXTS.values().forEach(LazyAutoencoderContext::close);
    if (model != null) {
      model.close();
    }
    MANAGER.close();
  }

  private static LazyAutoencoderContext context(SaePack.Family family) {
    return CONTEXTS.computeIfAbsent(
        family.key(),
        k -> family.context(PACK, family.config(PACK), MANAGER));
  }

  @TestFactory
  Stream<DynamicContainer> everySaeScenarioOfEveryPrompt() {
    model = Transformer.fromCheckpoint(Gpt2Checkpoint.load(PACK.modelDirs().get(0)), MANAGER);
    List<DynamicContainer> perPrompt = new ArrayList<>();
    for (ConformancePack.Prompt prompt : PACK.prompts()) {
      if (!PACK.hasGolden(prompt.id() + "/dst.json")) {
        continue;
      }
      JsonNode scenarios = PACK.json(prompt.id() + "/dst.json").path("scenarios");
      List<DynamicContainer> perScenario = new ArrayList<>();
      for (Iterator<String> it = scenarios.fieldNames(); it.hasNext(); ) {
        String scenario = it.next();
        if (!scenario.startsWith("loss_")
            || !PACK.hasGolden(prompt.id() + "/dst_" + scenario + ".safetensors")) {
          continue;
        }
        perScenario.add(
            DynamicContainer.dynamicContainer(
                scenario, scenarioTests(prompt, scenario, scenarios.path(scenario).path("dsts"))));
      }
      assertFalse(perScenario.isEmpty(), "no SAE scenario for " + prompt.id());
      perPrompt.add(DynamicContainer.dynamicContainer(prompt.id(), perScenario));
    }
    assertFalse(perPrompt.isEmpty(), "the pack has no dst.json");
    return perPrompt.stream();
  }

  private static Stream<DynamicTest> scenarioTests(
      ConformancePack.Prompt prompt, String scenario, JsonNode dsts) {
    List<SaePack.Family> injected = new ArrayList<>();
    for (SaePack.Family f : FAMILIES.values()) {
      String errorDst = AutoencoderSplice.errorLocation(f.input()).name();
      if (dsts.path(errorDst).path("status").asText().equals("ok")) {
        injected.add(f);
      }
    }
    assertFalse(injected.isEmpty(), scenario + ": cannot tell which SAEs were injected");
    List<AutoencoderContext> contexts = new ArrayList<>();
    injected.forEach(f -> contexts.add(context(f)));
    AutoencoderSplice splice =
        contexts.size() == 1
            ? AutoencoderSplice.of(contexts.get(0))
            : AutoencoderSplice.of(LazyMultiAutoencoderContext.of(contexts));
    RunRequest.Builder request =
        RunRequest.builder()
            .prompt(prompt.tokens())
            .hooks(splice.hooks())
            .allLocations(false)
            .loss(Loss.logitDiff(prompt.targetToken(), prompt.distractorToken()));
    splice.points().values().forEach(p -> request.forward(p).gradients(p));
    ActivationCache cache = model.runWithCache(request.build(), MANAGER);
    Map<String, HostTensor> activations = PACK.tensors(prompt.id() + "/activations.safetensors");
    Map<String, Map<String, HostTensor>> files = new HashMap<>();
    String key = prompt.id() + "/" + scenario;
    int[] counts = COUNTS.computeIfAbsent(key, k -> new int[4]);

    List<DynamicTest> tests = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = dsts.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> dst = it.next();
      if (!dst.getValue().path("status").asText().equals("ok")) {
        continue;
      }
      for (Iterator<Map.Entry<String, JsonNode>> entries = dst.getValue().path("entries").fields();
          entries.hasNext(); ) {
        Map.Entry<String, JsonNode> entry = entries.next();
        String name = entry.getKey(); // DST/forward/layer
        String[] parts = name.split("/");
        if (!parts[1].equals("forward")) {
          continue;
        }
        int layer = LayerIndex.parse(parts[2]);
        Check check = checkFor(parts[0], layer, injected, splice, cache, activations);
        if (check == null) {
          continue;
        }
        String storedIn = entry.getValue().path("stored_in").asText(scenario);
        String file = prompt.id() + "/dst_" + storedIn + ".safetensors";
        if (!PACK.hasGolden(file)) {
          continue;
        }
        counts[check.kind]++;
        tests.add(
            DynamicTest.dynamicTest(
                name,
                () -> {
                  HostTensor expected =
                      files.computeIfAbsent(file, PACK::tensors).get(name);
                  assertTrue(expected != null, name + " missing from " + file);
                  try (NDManager m = MANAGER.newSubManager()) {
                    NDArray actual = check.compute.apply(m);
                    assertArrayEquals(expected.shape(), actual.getShape().getShape(), name);
                    double error =
                        Tolerance.check(name, expected.toFloatArray(), actual.toFloatArray());
                    MAX_ERRORS.merge(key, error, Math::max);
                  }
                }));
      }
    }
    assertTrue(counts[0] + counts[1] > 0, key + ": no SAE entries checked");
    return tests.stream();
  }

  private record Check(int kind, java.util.function.Function<NDManager, NDArray> compute) {}

  /** How to compute the value of {@code dst} at {@code layer}, or null if it is not ours. */
  private static Check checkFor(
      String dst,
      int layer,
      List<SaePack.Family> injected,
      AutoencoderSplice splice,
      ActivationCache cache,
      Map<String, HostTensor> activations) {
    NodeType offlineNodeType =
        switch (dst) {
          case "MLP_AUTOENCODER_LATENT" -> NodeType.MLP_AUTOENCODER_LATENT;
          case "ATTENTION_AUTOENCODER_LATENT" -> NodeType.ATTENTION_AUTOENCODER_LATENT;
          case "AUTOENCODER_LATENT" -> NodeType.AUTOENCODER_LATENT;
          default -> null;
        };
    if (offlineNodeType != null) {
      SaePack.Family family = familyOf(offlineNodeType, injected);
      return new Check(0, m -> offlineLatents(family, layer, activations, m));
    }
    ActivationLocationType location = locationOrNull(dst);
    if (location != null && splice.points().containsKey(location)) {
      HookPoint point = splice.point(location);
      return new Check(1, m -> cache.get(point, layer, PassType.FORWARD).get(0));
    }
    if (dst.endsWith("_ACT_TIMES_GRAD")) {
      String base = dst.substring(0, dst.length() - "_ACT_TIMES_GRAD".length());
      ActivationLocationType online = locationOrNull(base.endsWith("_ERROR") ? base : base + "_LATENT");
      if (online != null && splice.points().containsKey(online)) {
        HookPoint point = splice.point(online);
        return new Check(
            2,
            m -> {
              NDArray activation = cache.get(point, layer, PassType.FORWARD);
              float[] product = activation.toFloatArray();
              float[] gradient = cache.get(point, layer, PassType.BACKWARD).toFloatArray();
              for (int i = 0; i < product.length; i++) {
                product[i] *= gradient[i];
              }
              return m.create(product, activation.getShape()).get(0);
            });
      }
    }
    if (location != null && HookPoint.isStandardLocation(location)) {
      return new Check(3, m -> cache.get(location, layer, PassType.FORWARD).get(0));
    }
    return null;
  }

  private static SaePack.Family familyOf(NodeType nodeType, List<SaePack.Family> injected) {
    List<SaePack.Family> matching = new ArrayList<>();
    for (SaePack.Family f : injected) {
      AutoencoderConfig config = new AutoencoderConfig(f.input(), f.ptPaths());
      if (nodeType == NodeType.AUTOENCODER_LATENT || config.nodeType() == nodeType) {
        matching.add(f);
      }
    }
    if (matching.size() != 1) {
      throw new AssertionError("no unique SAE family of " + nodeType + " in " + injected);
    }
    return matching.get(0);
  }

  /**
   * The SAE on the golden (SAE-free) activations, as the original's offline DSTs; for
   * RESID_DELTA_MLP the input is {@code mlp_post_act · W_outᵀ} (its RESID_DELTA_MLP_FROM_MLP_POST_ACT).
   */
  private static NDArray offlineLatents(
      SaePack.Family family, int layer, Map<String, HostTensor> activations, NDManager m) {
    NDArray input;
    if (family.input() == ActivationLocationType.RESID_DELTA_MLP) {
      NDArray postAct = golden(activations, "fwd/MLP_POST_ACT/" + LayerIndex.format(layer), m);
      NDArray wOut = model.parameter("xf_layers." + layer + ".mlp.out_layer.weight");
      input = postAct.matMul(wOut.transpose());
    } else {
      input = golden(activations, "fwd/" + family.input().name() + "/" + LayerIndex.format(layer), m);
    }
    return context(family).autoencoder(layer).encode(input);
  }

  private static NDArray golden(Map<String, HostTensor> activations, String name, NDManager m) {
    HostTensor t = activations.get(name);
    assertTrue(t != null, "no " + name + " in the golden activations");
    return m.create(t.toFloatArray(), new Shape(t.shape()));
  }

  private static ActivationLocationType locationOrNull(String name) {
    try {
      return ActivationLocationType.valueOf(name);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
