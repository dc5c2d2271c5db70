package io.github.neuronexplainer.debugger.postprocessing;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.math.TransformerMath;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * "Which input tokens drive this node?" (the original's {@code ResidualReadConverter} and {@code
 * TokenReadConverter}): the gradient of the node's pre-activation with respect to the residual
 * stream just before its layer, at the node's token, with the layer-norm scale held constant (as
 * the original's reconstitution with {@code detach_layer_norm_scale}), then projected onto every
 * token's embedding. Prompt-dependent through the residual and the layer-norm scale.
 *
 * <p>Supported nodes: MLP neurons, and latents of MLP autoencoders (input MLP_POST_ACT or
 * RESID_DELTA_MLP); all read RESID_POST_ATTN of their layer. The gradients are analytic: for a
 * neuron {@code center(g ⊙ W_in[:, n]) / s}; for a latent the encoder row is pulled back through
 * GELU (and W_out for a RESID_DELTA_MLP autoencoder) first.
 *
 * <p>Immutable and thread-safe (given thread-safe contexts).
 */
public final class TokenReadConverter {
  private final ModelContext model;
  private final MultiAutoencoderContext autoencoders;
  private final Map<NodeType, DerivedScalarType> inputDsts;

  /**
   * @param autoencoders the loaded autoencoders, or null for none
   */
  public TokenReadConverter(ModelContext model, MultiAutoencoderContext autoencoders) {
    this.model = model;
    this.autoencoders = autoencoders;
    Map<NodeType, DerivedScalarType> map = new LinkedHashMap<>();
    map.put(NodeType.MLP_NEURON, DerivedScalarType.RESID_POST_ATTN);
    if (autoencoders != null) {
      Map<NodeType, AutoencoderContext> contexts = autoencoders.contextsByNodeType();
      AutoencoderContext mlp = contexts.get(NodeType.MLP_AUTOENCODER_LATENT);
      if (mlp != null) {
        map.put(NodeType.MLP_AUTOENCODER_LATENT, DerivedScalarType.RESID_POST_ATTN);
        if (contexts.size() == 1) {
          map.put(NodeType.AUTOENCODER_LATENT, DerivedScalarType.RESID_POST_ATTN);
        }
      }
    }
    this.inputDsts = Collections.unmodifiableMap(map);
  }

  /**
   * The DST (the residual before the node's layer) this converter reads, per supported node type.
   */
  public Map<NodeType, DerivedScalarType> inputDsts() {
    return inputDsts;
  }

  /**
   * Token reads of {@code nodes}, {@code [nodes, vocab]}, reading each node's residual from {@code
   * store} (forward pass).
   *
   * @throws IllegalArgumentException for an unsupported node type
   */
  public NDArray tokenReads(List<NodeIndex> nodes, DerivedScalarStore store, NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      List<NDArray> reads = new ArrayList<>();
      for (NodeIndex node : nodes) {
        DerivedScalarType dst = requireSupported(node.nodeType());
        int token = node.tensorIndices().get(0);
        float[] residual =
            store.get(
                new DerivedScalarIndex(dst, List.of(token), node.layerIndex(), PassType.FORWARD));
        reads.add(residualRead(node, scratch.create(residual), scratch));
      }
      NDArray embedding = model.embedding(scratch);
      NDArray result = NDArrays.stack(new NDList(reads)).matMul(embedding.transpose());
      result.attach(manager);
      return result;
    }
  }

  /**
   * The gradient of the node's pre-activation with respect to the residual {@code x} ({@code
   * [d_model]}) just before its layer, layer-norm scale held constant, {@code [d_model]}.
   *
   * @throws IllegalArgumentException for an unsupported node type or an index out of range
   */
  public NDArray residualRead(NodeIndex node, NDArray x, NDManager manager) {
    requireSupported(node.nodeType());
    int layer = node.layerIndex();
    int index = node.tensorIndices().get(node.tensorIndices().size() - 1);
    x = x.toType(DataType.FLOAT32, false);
    NDArray gain = model.getWeight(WeightLocationType.LAYER_NORM_GAIN_PRE_MLP, layer, manager);
    NDArray toHidden = model.getWeight(WeightLocationType.MLP_TO_HIDDEN, layer, manager);
    int nNeurons = (int) toHidden.getShape().get(1);
    NDArray centered = x.sub(x.mean());
    NDArray scale = TransformerMath.layerNormScale(centered, (float) model.layerNormEpsilon());
    NDArray coefficients; // d pre-activation / d MLP pre-activation, [d_ff]
    if (node.nodeType() == NodeType.MLP_NEURON) {
      if (index < 0 || index >= nNeurons) {
        throw new IllegalArgumentException(
            "Neuron " + index + " out of range [0, " + nNeurons + ")");
      }
      coefficients = manager.zeros(new ai.djl.ndarray.types.Shape(nNeurons));
      coefficients.set(new NDIndex("{}", index), 1f);
    } else {
      AutoencoderContext context = autoencoders.autoencoderContext(node.nodeType());
      SparseAutoencoder autoencoder = context.autoencoder(layer);
      NDArray encoder = autoencoder.encoderWeight(manager);
      long nLatents = encoder.getShape().get(0);
      if (index < 0 || index >= nLatents) {
        throw new IllegalArgumentException(
            "Latent " + index + " out of range [0, " + nLatents + ")");
      }
      NDArray encoderRow = encoder.get(new NDIndex("{}", index));
      NDArray bias = model.getWeight(WeightLocationType.LAYER_NORM_BIAS_PRE_MLP, layer, manager);
      NDArray hiddenBias = model.getWeight(WeightLocationType.MLP_TO_HIDDEN_BIAS, layer, manager);
      NDArray normalized = centered.div(scale).mul(gain).add(bias);
      NDArray preAct = normalized.reshape(1, -1).matMul(toHidden).reshape(-1).add(hiddenBias);
      NDArray geluGrad = TransformerMath.geluDerivative(preAct);
      if (context.inputLocation() == ActivationLocationType.MLP_POST_ACT) {
        coefficients = encoderRow.mul(geluGrad);
      } else if (context.inputLocation() == ActivationLocationType.RESID_DELTA_MLP) {
        NDArray toResidual = model.getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, manager);
        coefficients = toResidual.matMul(encoderRow.reshape(-1, 1)).reshape(-1).mul(geluGrad);
      } else {
        throw new IllegalArgumentException(
            "Input tokens of latents of a "
                + context.inputLocation().value()
                + " autoencoder are not supported");
      }
    }
    NDArray direction = toHidden.matMul(coefficients.reshape(-1, 1)).reshape(-1).mul(gain);
    return direction.sub(direction.mean()).div(scale);
  }

  private DerivedScalarType requireSupported(NodeType nodeType) {
    DerivedScalarType dst = inputDsts.get(nodeType);
    if (dst == null) {
      throw new IllegalArgumentException(
          "No token read for node type " + nodeType.value() + "; supported: " + inputDsts.keySet());
    }
    return dst;
  }
}
