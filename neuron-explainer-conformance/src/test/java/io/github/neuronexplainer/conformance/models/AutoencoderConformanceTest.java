package io.github.neuronexplainer.conformance.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.Tolerance;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.autoencoder.AutoencoderConfig;
import io.github.neuronexplainer.models.autoencoder.AutoencoderSplice;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import io.github.neuronexplainer.models.autoencoder.LazyMultiAutoencoderContext;
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
 *   <li>online locations ({@code ONLINE_*_LATENT}, {@code ONLINE_*_ERROR}): recorded at the
 *       splice's points in a forward pass with the SAEs injected;
 *   <li>{@code ONLINE_*_ACT_TIMES_GRAD}: the recorded online tensor times its gradient (logit-diff
 *       loss), which checks that latents and errors are differentiable like any activation;
 *   <li>raw activations of the plain model: the spliced pass only changes them by float noise.
 * </ul>
 */
class AutoencoderConformanceTest {
  private static final NDManager MANAGER = NDManager.newBaseManager();
  private static final Map<String, LazyAutoencoderContext> CONTEXTS = new LinkedHashMap<>();
  private static final Map<Pack, Transformer> MODELS = new LinkedHashMap<>();
  private static final Map<String, int[]> COUNTS = new TreeMap<>();
  private static final Map<String, Double> MAX_ERRORS = new TreeMap<>();

  @AfterAll
  static void report() {
    COUNTS.forEach(
        (key, n) ->
            System.out.printf(
                "SAE conformance %-40s offline %3d online %3d grad %3d raw %3d max abs error %.3g%n",
                key, n[0], n[1], n[2], n[3], MAX_ERRORS.getOrDefault(key, 0.0)));
    CONTEXTS.values().forEach(LazyAutoencoderContext::close);
    MODELS.values().forEach(Transformer::close);
    MANAGER.close();
  }

  /**
   * The SAE family's shipped context over the pack's .pt files where it has them, else the
   * safetensors twins.
   */
  private static LazyAutoencoderContext context(Pack pack, Pack.AutoencoderFamily family) {
    return CONTEXTS.computeIfAbsent(
        pack.root() + "/" + family.key(),
        k ->
            LazyAutoencoderContext.builder(pack.preferredConfig(family))
                .baseDir(pack.data(""))
                .build(MANAGER));
  }

  @TestFactory
  Stream<DynamicContainer> everySaeScenarioOfEveryPromptOfEveryPack() {
    return Pack.all().stream()
        .map(
            pack ->
                DynamicContainer.dynamicContainer(
                    pack.toString(), everySaeScenarioOfEveryPrompt(pack)));
  }

  private static Stream<DynamicContainer> everySaeScenarioOfEveryPrompt(Pack pack) {
    Transformer model =
        MODELS.computeIfAbsent(
            pack,
            p -> Transformer.fromCheckpoint(Gpt2Checkpoint.load(p.modelDirs().get(0)), MANAGER));
    List<DynamicContainer> perPrompt = new ArrayList<>();
    for (Pack.Prompt prompt : pack.prompts()) {
      if (!pack.hasGolden(prompt.id() + "/dst.json")) {
        continue;
      }
      JsonNode scenarios = pack.json(prompt.id() + "/dst.json").path("scenarios");
      List<DynamicContainer> perScenario = new ArrayList<>();
      for (Iterator<String> it = scenarios.fieldNames(); it.hasNext(); ) {
        String scenario = it.next();
        if (!scenario.startsWith("loss_")
            || !pack.hasGolden(prompt.id() + "/dst_" + scenario + ".safetensors")) {
          continue;
        }
        perScenario.add(
            DynamicContainer.dynamicContainer(
                scenario,
                scenarioTests(
                    pack, model, prompt, scenario, scenarios.path(scenario).path("dsts"))));
      }
      assertFalse(perScenario.isEmpty(), "no SAE scenario for " + prompt.id());
      perPrompt.add(DynamicContainer.dynamicContainer(prompt.id(), perScenario));
    }
    assertFalse(perPrompt.isEmpty(), "the pack has no dst.json");
    return perPrompt.stream();
  }

  private static Stream<DynamicTest> scenarioTests(
      Pack pack, Transformer model, Pack.Prompt prompt, String scenario, JsonNode dsts) {
    List<Pack.AutoencoderFamily> injected = new ArrayList<>();
    for (Pack.AutoencoderFamily f : pack.autoencoderFamilies().values()) {
      String errorDst = f.input().onlineAutoencoderErrorLocation().name();
      if (dsts.path(errorDst).path("status").asText().equals("ok")) {
        injected.add(f);
      }
    }
    assertFalse(injected.isEmpty(), scenario + ": cannot tell which SAEs were injected");
    List<AutoencoderContext> contexts = new ArrayList<>();
    injected.forEach(f -> contexts.add(context(pack, f)));
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
    Map<String, HostTensor> activations = pack.tensors(prompt.id() + "/activations.safetensors");
    Map<String, Map<String, HostTensor>> files = new HashMap<>();
    String key = pack.root().normalize().getFileName() + "/" + prompt.id() + "/" + scenario;
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
        Check check = checkFor(pack, model, parts[0], layer, injected, splice, cache, activations);
        if (check == null) {
          continue;
        }
        String storedIn = entry.getValue().path("stored_in").asText(scenario);
        String file = prompt.id() + "/dst_" + storedIn + ".safetensors";
        if (!pack.hasGolden(file)) {
          continue;
        }
        counts[check.kind]++;
        tests.add(
            DynamicTest.dynamicTest(
                name,
                () -> {
                  HostTensor expected = files.computeIfAbsent(file, pack::tensors).get(name);
                  assertTrue(expected != null, name + " missing from " + file);
                  try (NDManager m = MANAGER.newSubManager()) {
                    NDArray actual = check.compute.apply(m);
                    assertArrayEquals(expected.shape(), actual.getShape().getShape(), name);
                    double error =
                        Tolerance.check(name, actual.toFloatArray(), expected.toFloatArray());
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
      Pack pack,
      Transformer model,
      String dst,
      int layer,
      List<Pack.AutoencoderFamily> injected,
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
      Pack.AutoencoderFamily family = familyOf(offlineNodeType, injected);
      return new Check(0, m -> offlineLatents(pack, model, family, layer, activations, m));
    }
    ActivationLocationType location = locationOrNull(dst);
    if (location != null && splice.points().containsKey(location)) {
      HookPoint point = splice.point(location);
      return new Check(1, m -> cache.get(point, layer, PassType.FORWARD).get(0));
    }
    if (dst.endsWith("_ACT_TIMES_GRAD")) {
      String base = dst.substring(0, dst.length() - "_ACT_TIMES_GRAD".length());
      ActivationLocationType online =
          locationOrNull(base.endsWith("_ERROR") ? base : base + "_LATENT");
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

  private static Pack.AutoencoderFamily familyOf(
      NodeType nodeType, List<Pack.AutoencoderFamily> injected) {
    List<Pack.AutoencoderFamily> matching = new ArrayList<>();
    for (Pack.AutoencoderFamily f : injected) {
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
   * RESID_DELTA_MLP the input is {@code mlp_post_act · W_outᵀ} (its
   * RESID_DELTA_MLP_FROM_MLP_POST_ACT).
   */
  private static NDArray offlineLatents(
      Pack pack,
      Transformer model,
      Pack.AutoencoderFamily family,
      int layer,
      Map<String, HostTensor> activations,
      NDManager m) {
    NDArray input;
    if (family.input() == ActivationLocationType.RESID_DELTA_MLP) {
      NDArray postAct = golden(activations, "fwd/MLP_POST_ACT/" + LayerIndex.format(layer), m);
      NDArray wOut = model.parameter("xf_layers." + layer + ".mlp.out_layer.weight");
      input = postAct.matMul(wOut.transpose());
    } else {
      input =
          golden(activations, "fwd/" + family.input().name() + "/" + LayerIndex.format(layer), m);
    }
    return context(pack, family).autoencoder(layer).encode(input);
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
