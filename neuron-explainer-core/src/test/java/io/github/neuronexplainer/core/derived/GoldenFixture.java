package io.github.neuronexplainer.core.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Shared test fixture: the tiny model, the tiny SAEs, the loss scenarios' autoencoder setups and
 * raw stores built from {@code pN/activations.safetensors} (plus online SAE activations).
 */
public final class GoldenFixture implements AutoCloseable {
  /** The loss scenarios and the SAE kinds injected in each (the harness README's table). */
  public static final Map<String, List<String>> LOSS_SCENARIOS = new LinkedHashMap<>();

  static {
    LOSS_SCENARIOS.put("loss_multi_sae", List.of("mlp_post_act", "resid_delta_attn"));
    LOSS_SCENARIOS.put("loss_mlp_sae", List.of("mlp_post_act"));
    LOSS_SCENARIOS.put("loss_attn_sae", List.of("resid_delta_attn"));
    LOSS_SCENARIOS.put("loss_resid_mlp_sae", List.of("resid_delta_mlp"));
  }

  /** Every scenario this fixture can set up, with its SAE kinds. */
  public static final Map<String, List<String>> SCENARIO_AUTOENCODERS = new LinkedHashMap<>(LOSS_SCENARIOS);

  static {
    SCENARIO_AUTOENCODERS.put("edge_out_attn_v", List.of("mlp_post_act"));
    SCENARIO_AUTOENCODERS.put("edge_in_attn_head", List.of("mlp_post_act"));
    SCENARIO_AUTOENCODERS.put("trace_mlp_post_act", List.of("mlp_post_act"));
    SCENARIO_AUTOENCODERS.put("trace_mlp_post_act_attn_sae", List.of("resid_delta_attn"));
    SCENARIO_AUTOENCODERS.put("trace_attn_qk_probs", List.of("mlp_post_act"));
  }

  public final NDManager manager = NDManager.newBaseManager();
  public final SafetensorsGpt2ModelContext model =
      new SafetensorsGpt2ModelContext(ConformancePack.modelDir(), manager);
  private final Map<String, TinyAutoencoders.Context> contexts = new LinkedHashMap<>();

  public TinyAutoencoders.Context autoencoders(String kind) {
    return contexts.computeIfAbsent(kind, k -> new TinyAutoencoders.Context(k, manager));
  }

  public List<AutoencoderContext> scenarioAutoencoders(String scenario) {
    List<AutoencoderContext> list = new ArrayList<>();
    for (String kind : SCENARIO_AUTOENCODERS.get(scenario)) {
      list.add(autoencoders(kind));
    }
    return list;
  }

  /** The config builder of a scenario: a single autoencoder context, or a multi context. */
  public DstConfig.Builder scenarioConfig(String scenario) {
    return scenarioConfig(scenario, model);
  }

  /** As {@link #scenarioConfig(String)} with another model context (e.g. the real model's). */
  public DstConfig.Builder scenarioConfig(String scenario, ModelContext modelContext) {
    List<AutoencoderContext> list = scenarioAutoencoders(scenario);
    DstConfig.Builder builder = DstConfig.builder().modelContext(modelContext);
    if (list.size() == 1) {
      builder.autoencoderContext(list.get(0));
    } else {
      builder.multiAutoencoderContext(new MultiAutoencoderContext(list));
    }
    return builder;
  }

  /** A raw store of prompt {@code promptId} with the scenario's online SAE activations. */
  public RawActivationStore rawStore(String promptId, String scenario) {
    RawActivationStore raw = new RawActivationStore(manager);
    Path file = ConformancePack.golden().resolve(promptId).resolve("activations.safetensors");
    try (NDManager loading = manager.newSubManager()) {
      Map<String, NDArray> tensors = ConformancePack.readSafetensors(file, loading);
      tensors.forEach(
          (name, tensor) -> {
            String[] parts = name.split("/");
            if (parts.length != 3) {
              return; // e.g. "tokens"
            }
            PassType pass = parts[0].equals("fwd") ? PassType.FORWARD : PassType.BACKWARD;
            raw.put(
                ActivationLocationType.valueOf(parts[1]), pass, LayerIndex.parse(parts[2]), tensor);
          });
    }
    OnlineAutoencoderActivations.addTo(raw, scenarioAutoencoders(scenario));
    return raw;
  }

  /**
   * Whether the golden entry was computed with derive_gradients: the library default ({@code !dst
   * .requiresGradForForwardPass()}) unless dst.json says it was retried without.
   */
  public static boolean deriveGradients(DerivedScalarType dst, JsonNode dstInfo) {
    return dstInfo.get("config").asText().equals("default") && !dst.requiresGradForForwardPass();
  }

  /** The token ids of a prompt of the manifest. */
  public int[] promptTokens(String promptId) {
    for (JsonNode p : ConformancePack.readJson(ConformancePack.golden().resolve("manifest.json")).get("prompts")) {
      if (p.get("id").asText().equals(promptId)) {
        int[] tokens = new int[p.get("tokens").size()];
        for (int i = 0; i < tokens.length; i++) {
          tokens[i] = p.get("tokens").get(i).asInt();
        }
        return tokens;
      }
    }
    throw new IllegalArgumentException("No prompt " + promptId + " in the manifest");
  }

  public static JsonNode dstJson(String promptId) {
    return ConformancePack.readJson(ConformancePack.golden().resolve(promptId).resolve("dst.json"));
  }

  @Override
  public void close() {
    model.close();
    manager.close();
  }
}
