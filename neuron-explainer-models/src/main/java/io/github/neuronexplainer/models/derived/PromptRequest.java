package io.github.neuronexplainer.models.derived;

import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.models.Loss;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One prompt of a {@link DerivedScalarComputation#run} batch: the original's {@code
 * DerivedScalarComputationParams}. Tokens, what to back-propagate from (a {@link Loss}, or the
 * activation named by a {@link TraceConfig}; the trace wins when both are given, as in the
 * original, and the loss is still evaluated and reported), the ablations applied to this prompt
 * only, and the DSTs to derive.
 *
 * <p>Immutable and thread-safe. Build with {@link #builder(int...)}.
 */
public record PromptRequest(
    List<Integer> tokens,
    Loss loss,
    TraceConfig trace,
    List<Ablation> ablations,
    List<DstAndConfig> dsts) {

  public PromptRequest {
    if (tokens == null || tokens.isEmpty()) {
      throw new IllegalArgumentException("A prompt needs at least one token");
    }
    tokens = List.copyOf(tokens);
    ablations = List.copyOf(ablations);
    dsts = List.copyOf(dsts);
  }

  /** The tokens as an array (a copy). */
  public int[] tokenArray() {
    return tokens.stream().mapToInt(Integer::intValue).toArray();
  }

  /** Whether this prompt runs a backward pass (a loss, a trace, or a gradient ablation). */
  public boolean backpropagates() {
    return loss != null || trace != null;
  }

  public static Builder builder(int... tokens) {
    return new Builder(tokens);
  }

  /** A builder holding this request's settings. */
  public Builder toBuilder() {
    Builder b = new Builder(tokenArray());
    b.loss = loss;
    b.trace = trace;
    b.ablations.addAll(ablations);
    b.dsts.addAll(dsts);
    return b;
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final int[] tokens;
    private Loss loss;
    private TraceConfig trace;
    private final List<Ablation> ablations = new ArrayList<>();
    private final List<DstAndConfig> dsts = new ArrayList<>();

    private Builder(int[] tokens) {
      this.tokens = tokens.clone();
    }

    /** Back-propagate from this loss (null: none). */
    public Builder loss(Loss loss) {
      this.loss = loss;
      return this;
    }

    /** Back-propagate from the traced activation (null: none). */
    public Builder trace(TraceConfig trace) {
      this.trace = trace;
      return this;
    }

    public Builder ablation(Ablation ablation) {
      ablations.add(ablation);
      return this;
    }

    public Builder ablations(List<Ablation> list) {
      ablations.addAll(list);
      return this;
    }

    public Builder dst(DstAndConfig request) {
      dsts.add(request);
      return this;
    }

    public Builder dsts(List<DstAndConfig> list) {
      dsts.addAll(list);
      return this;
    }

    public PromptRequest build() {
      return new PromptRequest(
          Arrays.stream(tokens).boxed().toList(), loss, trace, ablations, dsts);
    }
  }
}
