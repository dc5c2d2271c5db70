package io.github.neuronexplainer.conformance;

import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.derived.Ablation;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

/**
 * The harness's derived-scalar scenarios (its README's scenario table; {@code golden.py}'s {@code
 * build_scenarios}, plus those of {@code fixtures/golden_extra.py}): the SAE families each injects
 * and its DstConfig settings. The harness places every trace and latent node at the model's LAST
 * layer (the upstream node of EDGE_IN_MLP_NEURON_ATTN_SAE at layer 0), so the settings take it from
 * the pack.
 */
public enum Scenario {
  LOSS_MULTI_SAE("mlp", "attn"),
  LOSS_MLP_SAE("mlp"),
  LOSS_ATTN_SAE("attn"),
  LOSS_RESID_MLP_SAE("resid_mlp"),
  EDGE_OUT_ATTN_V("mlp"),
  EDGE_IN_ATTN_HEAD("mlp"),
  TRACE_MLP_POST_ACT("mlp"),
  TRACE_MLP_POST_ACT_ATTN_SAE("attn"),
  TRACE_ATTN_QK_PROBS("mlp"),
  TRACE_MLP_SAE_LATENT("mlp"),
  TRACE_ATTN_SAE_LATENT("attn"),
  LATENT_BATCHED_ATTN_SAE("attn"),
  FAKE_GRAD_MLP_NEURON("mlp"),
  // fixtures/golden_extra.py: configurations golden.py leaves out
  EDGE_OUT_ATTN_Q("mlp"),
  EDGE_OUT_ATTN_K("mlp"),
  EDGE_OUT_MLP_NEURON("mlp"),
  EDGE_OUT_MLP_SAE_LATENT("mlp"),
  EDGE_OUT_ATTN_SAE_LATENT("attn"),
  EDGE_IN_MLP_NEURON_ATTN_SAE("attn"),
  GRC_TRACE_MLP_SAE_LATENT("mlp"),
  GRC_TRACE_ATTN_SAE_LATENT("attn");

  public static final List<Scenario> LOSS =
      List.of(LOSS_MULTI_SAE, LOSS_MLP_SAE, LOSS_ATTN_SAE, LOSS_RESID_MLP_SAE);

  private final List<String> autoencoderFamilies;

  Scenario(String... autoencoderFamilies) {
    this.autoencoderFamilies = List.of(autoencoderFamilies);
  }

  /** The scenario's name in the goldens, e.g. {@code loss_multi_sae}. */
  public String value() {
    return name().toLowerCase(Locale.ROOT);
  }

  public List<String> autoencoderFamilies() {
    return autoencoderFamilies;
  }

  /**
   * Whether the harness ran a backward pass from the logit-difference loss (not from a traced
   * activation).
   */
  public boolean backpropagatesFromLoss() {
    return value().startsWith("loss_") || value().startsWith("edge_");
  }

  /**
   * The call-level trace the harness passed to {@code get_derived_scalars_for_prompt} (where the
   * backward pass starts), or null for the loss, edge, latent-batched and fake-gradient scenarios.
   * The latent traces start at (last token, traced latent), while their DstConfig traces name
   * ("All", latent).
   */
  public TraceConfig trace(Pack pack, Pack.Prompt prompt) {
    int layer = pack.lastLayer();
    int token = prompt.lastToken();
    return switch (this) {
      case TRACE_MLP_POST_ACT, TRACE_MLP_POST_ACT_ATTN_SAE ->
          TraceConfig.fromActivationIndex(
              new ActivationIndex(
                  ActivationLocationType.MLP_POST_ACT, List.of(token, 0), layer, PassType.FORWARD),
              false);
      case TRACE_ATTN_QK_PROBS ->
          TraceConfig.fromActivationIndex(
              new ActivationIndex(
                  ActivationLocationType.ATTN_QK_PROBS,
                  List.of(token, 1, 0),
                  layer,
                  PassType.FORWARD),
              false);
      case TRACE_MLP_SAE_LATENT,
          TRACE_ATTN_SAE_LATENT,
          GRC_TRACE_MLP_SAE_LATENT,
          GRC_TRACE_ATTN_SAE_LATENT ->
          TraceConfig.fromActivationIndex(
              new ActivationIndex(
                  ActivationLocationType.ONLINE_AUTOENCODER_LATENT,
                  List.of(token, pack.tracedLatent(prompt.id(), autoencoderFamilies.get(0))),
                  layer,
                  PassType.FORWARD));
      default -> null;
    };
  }

  /** The ablations the harness applied: the fake gradient of the fake-gradient scenario. */
  public List<Ablation> ablations(Pack pack, Pack.Prompt prompt) {
    if (this != FAKE_GRAD_MLP_NEURON) {
      return List.of();
    }
    return List.of(
        new Ablation(
            new ActivationIndex(
                ActivationLocationType.MLP_POST_ACT,
                List.of(prompt.lastToken(), 0),
                pack.lastLayer(),
                PassType.BACKWARD),
            1f));
  }

  /** Whether the harness ran the scenario without any backward pass. */
  public boolean forwardOnly() {
    return this == LATENT_BATCHED_ATTN_SAE;
  }

  /** The scenario's DstConfig settings besides model and autoencoders, for one prompt of a pack. */
  public UnaryOperator<DstConfig.Builder> settings(Pack pack, Pack.Prompt prompt) {
    int layer = pack.lastLayer();
    int token = prompt.lastToken();
    return switch (this) {
      case EDGE_OUT_ATTN_V ->
          b ->
              b.nodeIndexForAttribution(
                  new AttnSubNodeIndex(
                      NodeType.ATTENTION_HEAD,
                      List.of(1, 1, 0),
                      0,
                      PassType.FORWARD,
                      ActivationLocationType.ATTN_VALUE));
      case EDGE_IN_ATTN_HEAD ->
          b ->
              b.nodeIndexForAttribution(
                  new NodeIndex(
                      NodeType.ATTENTION_HEAD, List.of(token, 1, 0), layer, PassType.FORWARD));
      case EDGE_OUT_ATTN_Q, EDGE_OUT_ATTN_K ->
          b ->
              b.nodeIndexForAttribution(
                  new AttnSubNodeIndex(
                      NodeType.ATTENTION_HEAD,
                      List.of(token, 1, 0),
                      layer,
                      PassType.FORWARD,
                      this == EDGE_OUT_ATTN_Q
                          ? ActivationLocationType.ATTN_QUERY
                          : ActivationLocationType.ATTN_KEY));
      case EDGE_OUT_MLP_NEURON ->
          b ->
              b.nodeIndexForAttribution(
                  new NodeIndex(NodeType.MLP_NEURON, List.of(token, 0), layer, PassType.FORWARD));
      case EDGE_OUT_MLP_SAE_LATENT, EDGE_OUT_ATTN_SAE_LATENT ->
          b ->
              b.nodeIndexForAttribution(
                  new NodeIndex(
                      NodeType.AUTOENCODER_LATENT,
                      List.of(token, pack.tracedLatent(prompt.id(), autoencoderFamilies.get(0))),
                      layer,
                      PassType.FORWARD));
      case EDGE_IN_MLP_NEURON_ATTN_SAE ->
          b ->
              b.nodeIndexForAttribution(
                  new NodeIndex(NodeType.MLP_NEURON, List.of(token, 0), 0, PassType.FORWARD));
      case TRACE_MLP_POST_ACT, TRACE_MLP_POST_ACT_ATTN_SAE ->
          b ->
              b.traceConfig(
                  new TraceConfig(
                      new NodeIndex(
                          NodeType.MLP_NEURON, List.of(token, 0), layer, PassType.FORWARD),
                      PreOrPostAct.POST,
                      false,
                      null,
                      null));
      case TRACE_ATTN_QK_PROBS ->
          b ->
              b.traceConfig(
                  new TraceConfig(
                      new NodeIndex(
                          NodeType.ATTENTION_HEAD, List.of(token, 1, 0), layer, PassType.FORWARD),
                      PreOrPostAct.POST,
                      false,
                      AttentionTraceType.QK,
                      null));
      case TRACE_MLP_SAE_LATENT, TRACE_ATTN_SAE_LATENT -> {
        int latent = pack.tracedLatent(prompt.id(), autoencoderFamilies.get(0));
        yield b ->
            b.layerIndices(List.of(layer))
                .traceConfig(
                    new TraceConfig(
                        new NodeIndex(
                            NodeType.AUTOENCODER_LATENT,
                            Arrays.asList(null, latent),
                            layer,
                            PassType.FORWARD),
                        PreOrPostAct.POST,
                        true,
                        null,
                        null));
      }
      case GRC_TRACE_MLP_SAE_LATENT, GRC_TRACE_ATTN_SAE_LATENT ->
          b -> b.traceConfig(trace(pack, prompt));
      case LATENT_BATCHED_ATTN_SAE -> b -> b.layerIndices(List.of(layer));
      case FAKE_GRAD_MLP_NEURON ->
          b ->
              b.activationIndexForFakeGrad(
                  new ActivationIndex(
                      ActivationLocationType.MLP_POST_ACT,
                      List.of(token, 0),
                      layer,
                      PassType.BACKWARD));
      default -> b -> b;
    };
  }
}
