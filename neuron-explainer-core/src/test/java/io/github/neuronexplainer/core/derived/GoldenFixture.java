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
    SCENARIO_AUTOENCODERS.put("trace_mlp_sae_latent", List.of("mlp_post_act"));
    SCENARIO_AUTOENCODERS.put("trace_attn_sae_latent", List.of("resid_delta_attn"));
    SCENARIO_AUTOENCODERS.put("latent_batched_attn_sae", List.of("resid_delta_attn"));
    SCENARIO_AUTOENCODERS.put("fake_grad_mlp_neuron", List.of("mlp_post_act"));
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
      builder.multiAutoencoderContext(MultiAutoencoderContext.of(list));
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

  /**
   * The config settings of a scenario besides its autoencoders (harness README's scenario table):
   * the edge scenarios' node, the trace scenarios' trace config, the latent scenarios' layer.
   */
  public java.util.function.UnaryOperator<DstConfig.Builder> scenarioSettings(String scenario, String prompt) {
    int last = promptTokens(prompt).length - 1;
    JsonNode traced = dstJson(prompt).get("traced_latents");
    return switch (scenario) {
      case "edge_out_attn_v" -> b -> b.nodeIndexForAttribution(
          new io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex(
              io.github.neuronexplainer.core.locations.NodeType.ATTENTION_HEAD,
              List.of(1, 1, 0), 0, PassType.FORWARD, ActivationLocationType.ATTN_VALUE));
      case "edge_in_attn_head" -> b -> b.nodeIndexForAttribution(
          new io.github.neuronexplainer.core.derived.indexing.NodeIndex(
              io.github.neuronexplainer.core.locations.NodeType.ATTENTION_HEAD,
              List.of(last, 1, 0), 1, PassType.FORWARD));
      case "trace_mlp_post_act", "trace_mlp_post_act_attn_sae" -> b -> b.traceConfig(
          new io.github.neuronexplainer.core.derived.indexing.TraceConfig(
              new io.github.neuronexplainer.core.derived.indexing.NodeIndex(
                  io.github.neuronexplainer.core.locations.NodeType.MLP_NEURON, List.of(last, 0), 1, PassType.FORWARD),
              io.github.neuronexplainer.core.derived.indexing.PreOrPostAct.POST, false, null, null));
      case "trace_attn_qk_probs" -> b -> b.traceConfig(
          new io.github.neuronexplainer.core.derived.indexing.TraceConfig(
              new io.github.neuronexplainer.core.derived.indexing.NodeIndex(
                  io.github.neuronexplainer.core.locations.NodeType.ATTENTION_HEAD, List.of(last, 1, 0), 1, PassType.FORWARD),
              io.github.neuronexplainer.core.derived.indexing.PreOrPostAct.POST, false,
              io.github.neuronexplainer.core.derived.indexing.AttentionTraceType.QK, null));
      case "trace_mlp_sae_latent", "trace_attn_sae_latent" -> {
        int latent = traced.get(scenario.contains("mlp") ? "mlp" : "attn").asInt();
        yield b -> b.layerIndices(List.of(1)).traceConfig(
            new io.github.neuronexplainer.core.derived.indexing.TraceConfig(
                new io.github.neuronexplainer.core.derived.indexing.NodeIndex(
                    io.github.neuronexplainer.core.locations.NodeType.AUTOENCODER_LATENT,
                    java.util.Arrays.asList(null, latent), 1, PassType.FORWARD),
                io.github.neuronexplainer.core.derived.indexing.PreOrPostAct.POST, true, null, null));
      }
      case "latent_batched_attn_sae" -> b -> b.layerIndices(List.of(1));
      case "fake_grad_mlp_neuron" -> b -> b.activationIndexForFakeGrad(
          new io.github.neuronexplainer.core.derived.indexing.ActivationIndex(
              ActivationLocationType.MLP_POST_ACT, List.of(last, 0), 1, PassType.BACKWARD));
      default -> b -> b;
    };
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
