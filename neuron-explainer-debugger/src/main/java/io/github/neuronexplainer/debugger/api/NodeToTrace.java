package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;

/**
 * A TDB node to start the backward pass from (the original's {@code NodeToTrace}). For attention
 * heads, {@code attentionTraceType} says through which part (Q, K, QK or V). {@code
 * downstreamTraceConfig} is carried but ignored, as in the original (the downstream node of a V
 * trace is {@link TdbRequestSpec#downstreamNodeToTrace()}).
 *
 * <p>Immutable and thread-safe.
 */
public record NodeToTrace(
    NodeIndex nodeIndex, AttentionTraceType attentionTraceType, TraceConfig downstreamTraceConfig) {
  public NodeToTrace {
    Immutable.required(nodeIndex, "nodeIndex", "NodeToTrace");
  }

  public static NodeToTrace of(NodeIndex nodeIndex, AttentionTraceType attentionTraceType) {
    return new NodeToTrace(nodeIndex, attentionTraceType, null);
  }
}
