package io.github.neuronexplainer.debugger;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.api.AblationSpec;
import io.github.neuronexplainer.debugger.api.ComponentTypeForAttention;
import io.github.neuronexplainer.debugger.api.ComponentTypeForMlp;
import io.github.neuronexplainer.debugger.api.GroupId;
import io.github.neuronexplainer.debugger.api.InferenceRequestSpec;
import io.github.neuronexplainer.debugger.api.InferenceSubRequest;
import io.github.neuronexplainer.debugger.api.LossFnConfig;
import io.github.neuronexplainer.debugger.api.LossFnName;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.NodeAblation;
import io.github.neuronexplainer.debugger.api.NodeToTrace;
import io.github.neuronexplainer.debugger.api.ProcessingRequestSpec;
import io.github.neuronexplainer.debugger.api.ScoredTokensRequestSpec;
import io.github.neuronexplainer.debugger.api.TdbRequestSpec;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionRequestSpec;
import io.github.neuronexplainer.debugger.api.TokenScoringType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The original's {@code tdb_conversions.py}: a TDB request as a batched sub-request. The loss is
 * the logit difference unless tracing (kept for a V trace without a downstream node); node
 * ablations are followed by a backward ablation zeroing the gradient through the final layer-norm
 * scale; traces start at the node's pre-activation with the layer-norm scale detached; the fixed
 * specs are the node table, the per-token sums (neurons and heads, k = 1), four scored-token specs
 * (10 tokens), token-pair attribution (3 tokens) and the top/bottom 100 logits at the traced token
 * (-1 without a trace).
 *
 * <p>Stateless and thread-safe.
 */
public final class TdbConversions {
  /** The spec names of a converted TDB request, in order. */
  public static final String TOP_K_COMPONENTS = "topKComponents";

  public static final String COMPONENT_SUMS_FOR_TOKEN_DISPLAY = "componentSumsForTokenDisplay";
  public static final String UPVOTED_OUTPUT_TOKENS = "upvotedOutputTokens";
  public static final String INPUT_TOKENS_THAT_UPVOTE_MLP = "inputTokensThatUpvoteMlp";
  public static final String INPUT_TOKENS_THAT_UPVOTE_ATTN_Q = "inputTokensThatUpvoteAttnQ";
  public static final String INPUT_TOKENS_THAT_UPVOTE_ATTN_K = "inputTokensThatUpvoteAttnK";
  public static final String TOKEN_PAIR_ATTRIBUTION = "tokenPairAttribution";
  public static final String TOP_OUTPUT_TOKEN_LOGITS = "topOutputTokenLogits";

  private TdbConversions() {}

  /**
   * The sub-request the original runs for {@code tdb}.
   *
   * @throws DebuggerException (UNSUPPORTED) for a downstream node without an upstream one, a
   *     downstream node when the upstream one is not traced through V, or an ablation of a node
   *     type that cannot be ablated
   */
  public static InferenceSubRequest toInferenceSubRequest(TdbRequestSpec tdb) {
    LossFnConfig loss =
        new LossFnConfig(LossFnName.LOGIT_DIFF, tdb.targetTokens(), tdb.distractorTokens());
    List<AblationSpec> ablations = new ArrayList<>();
    if (tdb.nodeAblations() != null) {
      tdb.nodeAblations().forEach(a -> ablations.add(toAblationSpec(a)));
    }
    ablations.add(
        new AblationSpec(
            new ActivationIndex(
                ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE,
                Arrays.asList(null, null),
                LayerIndex.NONE,
                PassType.BACKWARD),
            0));
    int currentTokenIndex = -1;
    TraceConfig trace = null;
    if (tdb.upstreamNodeToTrace() == null) {
      if (tdb.downstreamNodeToTrace() != null) {
        throw new DebuggerException(
            DebuggerException.Kind.UNSUPPORTED,
            "downstreamNodeToTrace needs an upstreamNodeToTrace");
      }
    } else {
      trace = toTraceConfig(tdb.upstreamNodeToTrace(), tdb.downstreamNodeToTrace());
      Integer token = tdb.upstreamNodeToTrace().nodeIndex().tensorIndices().get(0);
      if (token != null) {
        currentTokenIndex = token;
      }
      boolean keepLoss =
          trace.attentionTraceType() == AttentionTraceType.V
              && trace.downstreamTraceConfig() == null;
      if (!keepLoss) {
        loss = null;
      }
    }
    InferenceRequestSpec inference =
        new InferenceRequestSpec(tdb.prompt(), ablations, loss, trace, null);
    Map<String, ProcessingRequestSpec> specs = new LinkedHashMap<>();
    specs.put(
        TOP_K_COMPONENTS,
        new MultipleTopKDerivedScalarsRequestSpec(
            groupedDstsPerComponent(tdb.componentTypeForMlp(), tdb.componentTypeForAttention()),
            null,
            tdb.topAndBottomKForNodeTable(),
            PassType.FORWARD,
            null));
    specs.put(
        COMPONENT_SUMS_FOR_TOKEN_DISPLAY,
        new MultipleTopKDerivedScalarsRequestSpec(
            groupedDstsPerComponent(
                ComponentTypeForMlp.NEURON, ComponentTypeForAttention.ATTENTION_HEAD),
            null,
            1,
            PassType.FORWARD,
            MultipleTopKDerivedScalarsRequestSpec.DEFAULT_DIMENSIONS_TO_KEEP));
    specs.put(UPVOTED_OUTPUT_TOKENS, scored(TokenScoringType.UPVOTED_OUTPUT_TOKENS));
    specs.put(INPUT_TOKENS_THAT_UPVOTE_MLP, scored(TokenScoringType.INPUT_TOKENS_THAT_UPVOTE_MLP));
    specs.put(
        INPUT_TOKENS_THAT_UPVOTE_ATTN_Q, scored(TokenScoringType.INPUT_TOKENS_THAT_UPVOTE_ATTN_Q));
    specs.put(
        INPUT_TOKENS_THAT_UPVOTE_ATTN_K, scored(TokenScoringType.INPUT_TOKENS_THAT_UPVOTE_ATTN_K));
    specs.put(TOKEN_PAIR_ATTRIBUTION, new TokenPairAttributionRequestSpec(3, TOP_K_COMPONENTS));
    specs.put(
        TOP_OUTPUT_TOKEN_LOGITS,
        new MultipleTopKDerivedScalarsRequestSpec(
            Map.of(GroupId.LOGITS, List.of(DerivedScalarType.LOGITS)),
            currentTokenIndex,
            100,
            PassType.FORWARD,
            null));
    return new InferenceSubRequest(inference, specs);
  }

  private static ScoredTokensRequestSpec scored(TokenScoringType type) {
    return new ScoredTokensRequestSpec(type, 10, TOP_K_COMPONENTS);
  }

  /**
   * The original's {@code node_ablation_to_ablation_spec}: forward ablation of an MLP neuron {@code
   * [t, n]}, a whole attention row {@code [t, All, head]}, or a latent {@code [t, l]}.
   */
  public static AblationSpec toAblationSpec(NodeAblation ablation) {
    NodeIndex node = ablation.nodeIndex();
    List<Integer> indices = node.tensorIndices();
    Integer token = indices.isEmpty() ? null : indices.get(0);
    Integer last = indices.isEmpty() ? null : indices.get(indices.size() - 1);
    if (token == null || last == null) {
      throw new DebuggerException(
          DebuggerException.Kind.UNSUPPORTED,
          "A node ablation needs the node's token and its last index, got " + indices);
    }
    ActivationLocationType location;
    List<Integer> ablated;
    switch (node.nodeType()) {
      case ATTENTION_HEAD -> {
        location = ActivationLocationType.ATTN_QK_PROBS;
        ablated = Arrays.asList(token, null, last);
      }
      case MLP_NEURON -> {
        location = ActivationLocationType.MLP_POST_ACT;
        ablated = List.of(token, last);
      }
      case AUTOENCODER_LATENT -> {
        location = ActivationLocationType.ONLINE_AUTOENCODER_LATENT;
        ablated = List.of(token, last);
      }
      case MLP_AUTOENCODER_LATENT -> {
        location = ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT;
        ablated = List.of(token, last);
      }
      case ATTENTION_AUTOENCODER_LATENT -> {
        location = ActivationLocationType.ONLINE_ATTENTION_AUTOENCODER_LATENT;
        ablated = List.of(token, last);
      }
      default ->
          throw new DebuggerException(
              DebuggerException.Kind.UNSUPPORTED,
              "Unknown node type "
                  + node.nodeType().value()
                  + " for a node ablation; ablate an MLP neuron,"
                  + " an attention head or an autoencoder latent");
    }
    return new AblationSpec(
        new ActivationIndex(location, ablated, node.layerIndex(), PassType.FORWARD),
        ablation.value());
  }

  /**
   * The original's {@code make_grouped_dsts_per_component}: four groups of [embedding, MLP,
   * attention] DSTs.
   */
  public static Map<GroupId, List<DerivedScalarType>> groupedDstsPerComponent(
      ComponentTypeForMlp mlp, ComponentTypeForAttention attention) {
    boolean neurons = mlp == ComponentTypeForMlp.NEURON;
    boolean heads = attention == ComponentTypeForAttention.ATTENTION_HEAD;
    Map<GroupId, List<DerivedScalarType>> groups = new LinkedHashMap<>();
    groups.put(
        GroupId.WRITE_NORM,
        List.of(
            DerivedScalarType.RESID_POST_EMBEDDING_NORM,
            neurons
                ? DerivedScalarType.MLP_WRITE_NORM
                : DerivedScalarType.ONLINE_MLP_AUTOENCODER_WRITE_NORM,
            heads
                ? DerivedScalarType.UNFLATTENED_ATTN_WRITE_NORM
                : DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_WRITE_NORM));
    groups.put(
        GroupId.ACT_TIMES_GRAD,
        List.of(
            DerivedScalarType.TOKEN_ATTRIBUTION,
            neurons
                ? DerivedScalarType.MLP_ACT_TIMES_GRAD
                : DerivedScalarType.ONLINE_MLP_AUTOENCODER_ACT_TIMES_GRAD,
            heads
                ? DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD
                : DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_ACT_TIMES_GRAD));
    groups.put(
        GroupId.DIRECTION_WRITE,
        List.of(
            DerivedScalarType.RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD,
            neurons
                ? DerivedScalarType.MLP_WRITE_TO_FINAL_RESIDUAL_GRAD
                : DerivedScalarType.ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD,
            heads
                ? DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD
                : DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD));
    groups.put(
        GroupId.ACTIVATION,
        List.of(
            DerivedScalarType.ALWAYS_ONE,
            neurons
                ? DerivedScalarType.MLP_POST_ACT
                : DerivedScalarType.ONLINE_MLP_AUTOENCODER_LATENT,
            heads
                ? DerivedScalarType.ATTN_QK_PROBS
                : DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_LATENT));
    return groups;
  }

  /**
   * The original's {@code nodes_to_trace_to_trace_config}: pre-activation, layer-norm scale
   * detached.
   */
  static TraceConfig toTraceConfig(NodeToTrace upstream, NodeToTrace downstream) {
    TraceConfig downstreamConfig = null;
    if (downstream != null) {
      if (upstream.attentionTraceType() != AttentionTraceType.V) {
        throw new DebuggerException(
            DebuggerException.Kind.UNSUPPORTED,
            "A downstream node to trace needs the upstream node traced through V, not "
                + upstream.attentionTraceType());
      }
      downstreamConfig = toTraceConfig(downstream, null);
    }
    try {
      return new TraceConfig(
          upstream.nodeIndex(),
          PreOrPostAct.PRE,
          TraceConfig.DETACH_LAYER_NORM_SCALE,
          upstream.attentionTraceType(),
          downstreamConfig);
    } catch (IllegalArgumentException e) {
      throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED, e.getMessage(), e);
    }
  }
}
