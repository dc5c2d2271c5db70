package io.github.neuronexplainer.core.report;

import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One row of a node table in an {@link HtmlReport}: which node, where, its value, and (when known)
 * the tokens it most raises and lowers. A debugger's node table maps onto a list of these.
 *
 * <p>Immutable and thread-safe.
 *
 * @param label what the node is, e.g. {@code "MLP L1 n235"}
 * @param layer its layer, or {@link LayerIndex#NONE}
 * @param tokenIndex the prompt position it is read at, or -1 for none
 * @param token the token at that position, or {@code ""}
 * @param value the number the table is sorted by (an activation, act×grad, ...)
 * @param topUpvotedTokens the tokens it raises most, best first (may be empty)
 * @param topDownvotedTokens the tokens it lowers most, worst first (may be empty)
 */
public record NodeRow(
    String label,
    int layer,
    int tokenIndex,
    String token,
    double value,
    List<String> topUpvotedTokens,
    List<String> topDownvotedTokens) {

  public NodeRow {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(token, "token");
    topUpvotedTokens = List.copyOf(topUpvotedTokens);
    topDownvotedTokens = List.copyOf(topDownvotedTokens);
  }

  /**
   * Rows for a derived-scalar top-k result ({@code DerivedScalarStore.topk}): one per scalar, in
   * its order, labelled by node type, layer and node index ({@code "MLP L1 n235"}, {@code "attn L0
   * h3 (to 1)"} for head 3 attending to token 1), at the index's token position (the attending
   * token for attention scalars). No upvoted/downvoted tokens: add them with {@link
   * #withTopTokens}.
   *
   * @param tokens the prompt's token strings, to name each row's token
   * @throws IllegalArgumentException if an index's token position is outside {@code tokens}
   */
  public static List<NodeRow> fromTopK(ActivationsAndMetadata.TopK topK, List<String> tokens) {
    float[] values = topK.values();
    List<NodeRow> rows = new ArrayList<>(values.length);
    for (int i = 0; i < values.length; i++) {
      DerivedScalarIndex index = topK.indices().get(i);
      Map<Dimension, Integer> byDim = index.tensorIndexByDimension();
      Integer position = byDim.get(Dimension.SEQUENCE_TOKENS);
      if (position != null && (position < 0 || position >= tokens.size())) {
        throw new IllegalArgumentException(
            index
                + " is at token "
                + position
                + " but the prompt has "
                + tokens.size()
                + " tokens; pass the token strings of the prompt the store was computed on");
      }
      rows.add(
          new NodeRow(
              label(index.dst().nodeType(), index.layerIndex(), byDim),
              index.layerIndex(),
              position == null ? -1 : position,
              position == null ? "" : tokens.get(position),
              values[i],
              List.of(),
              List.of()));
    }
    return rows;
  }

  /** This row with the given upvoted and downvoted tokens. */
  public NodeRow withTopTokens(List<String> upvoted, List<String> downvoted) {
    return new NodeRow(label, layer, tokenIndex, token, value, upvoted, downvoted);
  }

  private static String label(NodeType type, int layer, Map<Dimension, Integer> byDim) {
    String where = layer == LayerIndex.NONE ? "" : " L" + layer;
    return switch (type) {
      case MLP_NEURON -> "MLP" + where + " n" + orAll(byDim.get(Dimension.MLP_ACTS));
      case ATTENTION_HEAD ->
          "attn"
              + where
              + " h"
              + orAll(byDim.get(Dimension.ATTN_HEADS))
              + (byDim.get(Dimension.ATTENDED_TO_SEQUENCE_TOKENS) == null
                  ? ""
                  : " (to " + byDim.get(Dimension.ATTENDED_TO_SEQUENCE_TOKENS) + ")");
      case AUTOENCODER_LATENT, MLP_AUTOENCODER_LATENT, ATTENTION_AUTOENCODER_LATENT ->
          "latent" + where + " " + orAll(byDim.get(Dimension.AUTOENCODER_LATENTS));
      case RESIDUAL_STREAM_CHANNEL ->
          "resid" + where + " c" + orAll(byDim.get(Dimension.RESIDUAL_STREAM_CHANNELS));
      default -> type.value() + where;
    };
  }

  private static String orAll(Integer index) {
    return index == null ? "*" : index.toString();
  }
}
