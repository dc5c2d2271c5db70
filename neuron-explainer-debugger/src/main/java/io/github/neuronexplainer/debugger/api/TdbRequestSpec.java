package io.github.neuronexplainer.debugger.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.ArrayList;
import java.util.List;

/**
 * One side of the Transformer Debugger (the original's {@code TdbRequestSpec}): a prompt, the
 * logit-difference target and distractor tokens, which components the node table shows, its k, node
 * ablations and the node(s) to trace from. {@code hideEarlyLayersWhenAblating} is a display option
 * the original's server ignores, and so does this library.
 *
 * <p>Immutable and thread-safe. Build with {@link #builder(String)}.
 */
public record TdbRequestSpec(
    String prompt,
    List<String> targetTokens,
    List<String> distractorTokens,
    ComponentTypeForMlp componentTypeForMlp,
    ComponentTypeForAttention componentTypeForAttention,
    Integer topAndBottomKForNodeTable,
    Boolean hideEarlyLayersWhenAblating,
    List<NodeAblation> nodeAblations,
    NodeToTrace upstreamNodeToTrace,
    NodeToTrace downstreamNodeToTrace) {

  public TdbRequestSpec {
    String type = "TdbRequestSpec";
    Immutable.required(prompt, "prompt", type);
    targetTokens = List.copyOf(Immutable.required(targetTokens, "targetTokens", type));
    distractorTokens = List.copyOf(Immutable.required(distractorTokens, "distractorTokens", type));
    Immutable.required(componentTypeForMlp, "componentTypeForMlp", type);
    Immutable.required(componentTypeForAttention, "componentTypeForAttention", type);
    Immutable.required(topAndBottomKForNodeTable, "topAndBottomKForNodeTable", type);
    Immutable.required(hideEarlyLayersWhenAblating, "hideEarlyLayersWhenAblating", type);
    nodeAblations = nodeAblations == null ? null : List.copyOf(nodeAblations);
  }

  @JsonProperty(value = "specType", index = 0)
  public SpecType specType() {
    return SpecType.TDB_REQUEST_SPEC;
  }

  /** This request with other node ablations (null = none). */
  public TdbRequestSpec withNodeAblations(List<NodeAblation> ablations) {
    return new TdbRequestSpec(
        prompt,
        targetTokens,
        distractorTokens,
        componentTypeForMlp,
        componentTypeForAttention,
        topAndBottomKForNodeTable,
        hideEarlyLayersWhenAblating,
        ablations,
        upstreamNodeToTrace,
        downstreamNodeToTrace);
  }

  /** This request on another prompt. */
  public TdbRequestSpec withPrompt(String other) {
    return new TdbRequestSpec(
        other,
        targetTokens,
        distractorTokens,
        componentTypeForMlp,
        componentTypeForAttention,
        topAndBottomKForNodeTable,
        hideEarlyLayersWhenAblating,
        nodeAblations,
        upstreamNodeToTrace,
        downstreamNodeToTrace);
  }

  /** A request for {@code prompt} with neurons and heads, k = 10, no ablation, no trace. */
  public static Builder builder(String prompt) {
    return new Builder(prompt);
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final String prompt;
    private final List<String> targets = new ArrayList<>();
    private final List<String> distractors = new ArrayList<>();
    private ComponentTypeForMlp mlp = ComponentTypeForMlp.NEURON;
    private ComponentTypeForAttention attention = ComponentTypeForAttention.ATTENTION_HEAD;
    private int k = 10;
    private List<NodeAblation> ablations;
    private NodeToTrace upstream;
    private NodeToTrace downstream;

    private Builder(String prompt) {
      this.prompt = prompt;
    }

    public Builder target(String token) {
      targets.add(token);
      return this;
    }

    public Builder distractor(String token) {
      distractors.add(token);
      return this;
    }

    public Builder componentTypeForMlp(ComponentTypeForMlp value) {
      mlp = value;
      return this;
    }

    public Builder componentTypeForAttention(ComponentTypeForAttention value) {
      attention = value;
      return this;
    }

    public Builder topAndBottomKForNodeTable(int value) {
      k = value;
      return this;
    }

    public Builder nodeAblation(NodeAblation ablation) {
      if (ablations == null) {
        ablations = new ArrayList<>();
      }
      ablations.add(ablation);
      return this;
    }

    public Builder upstreamNodeToTrace(NodeToTrace value) {
      upstream = value;
      return this;
    }

    public Builder downstreamNodeToTrace(NodeToTrace value) {
      downstream = value;
      return this;
    }

    public TdbRequestSpec build() {
      return new TdbRequestSpec(
          prompt, targets, distractors, mlp, attention, k, false, ablations, upstream, downstream);
    }
  }
}
