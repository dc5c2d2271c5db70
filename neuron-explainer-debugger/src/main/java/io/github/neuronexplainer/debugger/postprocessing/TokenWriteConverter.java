package io.github.neuronexplainer.debugger.postprocessing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * "Which output tokens does this node upvote?" (the original's {@code ResidualWriteConverter} and
 * {@code TokenWriteConverter}, the logit lens of a node): a node's write to the residual stream at
 * its token (activation × output weight; an attention head's weighted value × W_O; the embedding; a
 * latent's decoder direction, through W_out for an MLP_POST_ACT autoencoder), projected onto the
 * unembedding times the final layer-norm gain, minus its mean over the vocabulary. The activation's
 * sign is included.
 *
 * <p>Input DSTs by node type: MLP_NEURON → MLP_POST_ACT, ATTENTION_HEAD → ATTN_WEIGHTED_VALUE,
 * LAYER → RESID_POST_EMBEDDING, and per loaded autoencoder its online latent DST (the generic
 * AUTOENCODER_LATENT only with exactly one autoencoder). The original keeps this map in a class
 * attribute that every instance extends (quirk 16, not reproduced: the map is per instance).
 *
 * <p>Immutable and thread-safe (given a thread-safe model context).
 */
public final class TokenWriteConverter {
  private final ModelContext model;
  private final MultiAutoencoderContext autoencoders;
  private final Map<NodeType, DerivedScalarType> inputDsts;

  /**
   * @param autoencoders the loaded autoencoders, or null for none
   */
  public TokenWriteConverter(ModelContext model, MultiAutoencoderContext autoencoders) {
    this.model = model;
    this.autoencoders = autoencoders;
    Map<NodeType, DerivedScalarType> map = new LinkedHashMap<>();
    map.put(NodeType.MLP_NEURON, DerivedScalarType.MLP_POST_ACT);
    map.put(NodeType.ATTENTION_HEAD, DerivedScalarType.ATTN_WEIGHTED_VALUE);
    map.put(NodeType.LAYER, DerivedScalarType.RESID_POST_EMBEDDING);
    if (autoencoders != null) {
      Map<NodeType, AutoencoderContext> contexts = autoencoders.contextsByNodeType();
      if (contexts.containsKey(NodeType.MLP_AUTOENCODER_LATENT)) {
        map.put(NodeType.MLP_AUTOENCODER_LATENT, DerivedScalarType.ONLINE_MLP_AUTOENCODER_LATENT);
      }
      if (contexts.containsKey(NodeType.ATTENTION_AUTOENCODER_LATENT)) {
        map.put(
            NodeType.ATTENTION_AUTOENCODER_LATENT,
            DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_LATENT);
      }
      if (contexts.size() == 1) {
        map.put(NodeType.AUTOENCODER_LATENT, DerivedScalarType.ONLINE_AUTOENCODER_LATENT);
      }
    }
    this.inputDsts = Collections.unmodifiableMap(map);
  }

  /** The DST whose values this converter reads, per node type it supports. */
  public Map<NodeType, DerivedScalarType> inputDsts() {
    return inputDsts;
  }

  /**
   * Mean-centred token writes of {@code nodes}, {@code [nodes, vocab]}, reading each node's
   * activation from {@code store} (forward pass of the node type's input DST).
   *
   * @throws IllegalArgumentException for a node type this converter does not support
   */
  public NDArray tokenWrites(List<NodeIndex> nodes, DerivedScalarStore store, NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      List<NDArray> writes = new ArrayList<>();
      for (NodeIndex node : nodes) {
        writes.add(residualWrite(node, store, scratch));
      }
      NDArray result = unembed(NDArrays.stack(new ai.djl.ndarray.NDList(writes)), scratch);
      result.attach(manager);
      return result;
    }
  }

  /**
   * The token write of a node whose activation is {@code activation} (for an MLP neuron or a
   * latent; e.g. 1.0 for "what this neuron upvotes per unit of activation"), {@code [vocab]}.
   *
   * @throws IllegalArgumentException for other node types, or an index out of range
   */
  public NDArray tokenWrite(
      NodeType nodeType, int layer, int index, float activation, NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      NDArray write = scalarWrite(nodeType, layer, index, scratch.create(activation), scratch);
      NDArray result = unembed(write.reshape(1, -1), scratch).get(0);
      result.attach(manager);
      return result;
    }
  }

  /**
   * A node's write to the residual stream at its token, {@code [d_model]}.
   *
   * @throws IllegalArgumentException for a node type this converter does not support
   */
  public NDArray residualWrite(NodeIndex node, DerivedScalarStore store, NDManager manager) {
    DerivedScalarType dst = inputDsts.get(node.nodeType());
    if (dst == null) {
      throw new IllegalArgumentException(
          "No token write for node type "
              + node.nodeType().value()
              + "; supported: "
              + inputDsts.keySet());
    }
    List<Integer> indices = node.tensorIndices();
    if (node.nodeType() == NodeType.LAYER) {
      // the embedding row [t, 0] reads RESID_POST_EMBEDDING[t]
      indices = indices.subList(0, indices.size() - 1);
    }
    float[] value =
        store.get(new DerivedScalarIndex(dst, indices, node.layerIndex(), PassType.FORWARD));
    return switch (node.nodeType()) {
      case LAYER -> manager.create(value);
      case ATTENTION_HEAD -> {
        NDArray weight =
            model
                .getWeight(WeightLocationType.ATTN_TO_RESIDUAL, node.layerIndex(), manager)
                .get(new NDIndex("{}", indices.get(indices.size() - 1)));
        yield manager.create(value).reshape(1, -1).matMul(weight).reshape(-1);
      }
      default ->
          scalarWrite(
              node.nodeType(),
              node.layerIndex(),
              indices.get(indices.size() - 1),
              manager.create(value[0]),
              manager);
    };
  }

  private NDArray scalarWrite(
      NodeType nodeType, int layer, int index, NDArray activation, NDManager manager) {
    if (nodeType == NodeType.MLP_NEURON) {
      NDArray row =
          model
              .getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, manager)
              .get(new NDIndex("{}", index));
      return row.mul(activation);
    }
    if (!nodeType.isAutoencoderLatent() || !inputDsts.containsKey(nodeType)) {
      throw new IllegalArgumentException(
          "A token write from an activation needs an MLP neuron or a loaded autoencoder's latent, not "
              + nodeType.value());
    }
    AutoencoderContext context = autoencoders.autoencoderContext(nodeType);
    NDArray decoder = context.autoencoder(layer).decoderWeight(manager);
    long nLatents = decoder.getShape().get(1);
    if (index < 0 || index >= nLatents) {
      throw new IllegalArgumentException("Latent " + index + " out of range [0, " + nLatents + ")");
    }
    NDArray direction = decoder.get(new NDIndex(":, {}", index)).mul(activation);
    if (context.inputLocation().nodeType() == NodeType.RESIDUAL_STREAM_CHANNEL) {
      return direction;
    }
    return direction
        .reshape(1, -1)
        .matMul(model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, manager))
        .reshape(-1);
  }

  /** {@code [n, d_model]} → {@code [n, vocab]}, mean-centred per row. */
  private NDArray unembed(NDArray writes, NDManager manager) {
    NDArray unembedding = model.unembeddingWithLayerNormGain(manager);
    NDArray logits = writes.toType(DataType.FLOAT32, false).matMul(unembedding);
    return logits.sub(logits.mean(new int[] {1}, true));
  }
}
