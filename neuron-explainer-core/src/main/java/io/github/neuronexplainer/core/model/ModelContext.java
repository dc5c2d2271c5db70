package io.github.neuronexplainer.core.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.math.TransformerMath;
import java.util.List;

/**
 * What the derived-scalar engine and the debugger computations need to know about a model: its
 * dimension sizes, its weights and biases in the standard shapes of {@link WeightLocationType}, its
 * layer-norm epsilon and attention scale, and its tokenizer. The original's {@code ModelContext}.
 *
 * <p>Implementations must be safe for concurrent reads.
 */
public interface ModelContext {

  /** The model's name or path, as given when the context was created. */
  String modelName();

  /**
   * Size of a model dimension.
   *
   * @throws UnsupportedOperationException for dimensions that depend on the input (tokens) or that
   *     the model does not define
   */
  int dimensionSize(Dimension dimension);

  /**
   * The weight at {@code location} and {@code layer} ({@link LayerIndex#NONE} for layer-less
   * weights) in the location's standard shape, as a new array handle owned by {@code manager}. The
   * handle may share storage with the model's parameters: never modify it in place.
   *
   * @throws IllegalArgumentException for a layer out of range, or a layer given to a layer-less
   *     location (or the reverse)
   */
  NDArray getWeight(WeightLocationType location, int layer, NDManager manager);

  /**
   * As {@link #getWeight(WeightLocationType, int, NDManager)}, L2-normalized along {@code
   * normalizeDimension} (like {@code torch.nn.functional.normalize}, eps 1e-12).
   */
  default NDArray getWeight(
      WeightLocationType location, int layer, Dimension normalizeDimension, NDManager manager) {
    NDArray weight = getWeight(location, layer, manager);
    int axis = location.dimensionIndex(normalizeDimension);
    NDArray norm = weight.norm(new int[] {axis}, true).maximum(weight.getManager().create(1e-12f));
    return weight.div(norm);
  }

  /** The epsilon every layer norm of the model adds to the variance (GPT-2: 1e-5). */
  double layerNormEpsilon();

  /**
   * The factor the model multiplies queries and keys by, each, before their dot product: {@code
   * d_head^-1/4}, so that the attention logits are scaled by {@code 1/sqrt(d_head)}.
   */
  default float queryKeyScale() {
    return TransformerMath.queryKeyScale(dimensionSize(Dimension.QUERY_AND_KEY_CHANNELS));
  }

  /** Token ids of {@code text}; {@code <|endoftext|>} is allowed and becomes one token. */
  int[] encode(String text);

  /** The text of one token (may be part of a multi-byte character: see the tokenizer). */
  String decodeToken(int token);

  /** The text of a token sequence. */
  String decode(int[] tokens);

  /**
   * The single token that {@code tokenString} encodes to.
   *
   * @throws IllegalArgumentException if it encodes to zero or several tokens
   */
  default int encodeTokenString(String tokenString) {
    int[] tokens = encode(tokenString);
    if (tokens.length != 1) {
      throw new IllegalArgumentException(
          "'"
              + tokenString
              + "' encoded to "
              + java.util.Arrays.toString(tokens)
              + "; wanted exactly 1 token (GPT-2 tokens usually start with a space, e.g. \" Paris\")");
    }
    return tokens[0];
  }

  /** The shape of a spec, with {@link Dimension#SINGLETON} as 1. */
  default long[] shapeFromSpec(List<Dimension> spec) {
    long[] shape = new long[spec.size()];
    for (int i = 0; i < shape.length; i++) {
      Dimension d = spec.get(i);
      shape[i] = d == Dimension.SINGLETON ? 1 : dimensionSize(d);
    }
    return shape;
  }

  default int nLayers() {
    return dimensionSize(Dimension.LAYERS);
  }

  default int nNeurons() {
    return dimensionSize(Dimension.MLP_ACTS);
  }

  default int nAttentionHeads() {
    return dimensionSize(Dimension.ATTN_HEADS);
  }

  default int nResidualStreamChannels() {
    return dimensionSize(Dimension.RESIDUAL_STREAM_CHANNELS);
  }

  default int nVocab() {
    return dimensionSize(Dimension.VOCAB_SIZE);
  }

  default int nContext() {
    return dimensionSize(Dimension.MAX_CONTEXT_LENGTH);
  }

  /** The unembedding {@code [d_model, vocab]} multiplied by the final layer-norm gain per row. */
  default NDArray unembeddingWithLayerNormGain(NDManager manager) {
    NDArray unembedding = getWeight(WeightLocationType.UNEMBEDDING, LayerIndex.NONE, manager);
    NDArray gain = getWeight(WeightLocationType.LAYER_NORM_GAIN_FINAL, LayerIndex.NONE, manager);
    return unembedding.mul(gain.reshape(-1, 1));
  }

  /** The token embedding {@code [vocab, d_model]} (no layer norm follows it). */
  default NDArray embedding(NDManager manager) {
    return getWeight(WeightLocationType.EMBEDDING, LayerIndex.NONE, manager);
  }
}
