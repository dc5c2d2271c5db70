package io.github.neuronexplainer.debugger.postprocessing;

import ai.djl.ndarray.NDArray;
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
import io.github.neuronexplainer.debugger.api.TopTokensAttendedTo;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * "Which earlier tokens does this attention latent read from?" (the original's {@code
 * TokenPairAttributionConverter}): for an active latent {@code l} at token {@code t} of an
 * autoencoder on RESID_DELTA_ATTN, {@code attr[s] = (W_enc[l] · attnWriteSumHeads[t, s]) · 1[latent
 * > 0]} for every token {@code s}, and the {@code k} largest.
 *
 * <p>Reads ATTENTION_AUTOENCODER_LATENT and ATTN_WRITE_SUM_HEADS (forward) from a store. Immutable
 * and thread-safe (given thread-safe contexts).
 */
public final class TokenPairAttributionConverter {
  private final MultiAutoencoderContext autoencoders;

  /**
   * @param autoencoders the loaded autoencoders, or null for none
   */
  public TokenPairAttributionConverter(MultiAutoencoderContext autoencoders) {
    this.autoencoders = autoencoders;
  }

  /**
   * The DST whose value decides whether a node is scored (its input DST), if the node type is
   * supported.
   */
  public static Optional<DerivedScalarType> inputDst(NodeType nodeType) {
    return nodeType == NodeType.ATTENTION_AUTOENCODER_LATENT
        ? Optional.of(DerivedScalarType.ATTENTION_AUTOENCODER_LATENT)
        : Optional.empty();
  }

  /**
   * The {@code k} tokens whose attention write drives {@code node} most, or empty when the node is
   * not an attention latent of a RESID_DELTA_ATTN autoencoder, or is inactive (as the original's
   * null). With {@code clamp}, fewer than {@code k} tokens give every token (the original fails).
   *
   * @throws IllegalArgumentException if the prompt has fewer than {@code k} tokens and not {@code
   *     clamp}, or the autoencoder's activation is not ReLU-like
   */
  public Optional<TopTokensAttendedTo> topTokensAttendedTo(
      NodeIndex node, DerivedScalarStore store, int k, boolean clamp) {
    if (node.nodeType() != NodeType.ATTENTION_AUTOENCODER_LATENT || autoencoders == null) {
      return Optional.empty();
    }
    AutoencoderContext context = autoencoders.autoencoderContext(node.nodeType());
    if (context == null || context.inputLocation() != ActivationLocationType.RESID_DELTA_ATTN) {
      return Optional.empty();
    }
    int layer = node.layerIndex();
    int token = node.tensorIndices().get(0);
    int latent = node.tensorIndices().get(1);
    float activation =
        store
            .get(
                new DerivedScalarIndex(
                    DerivedScalarType.ATTENTION_AUTOENCODER_LATENT,
                    node.tensorIndices(),
                    layer,
                    PassType.FORWARD))[0];
    SparseAutoencoder autoencoder = context.autoencoder(layer);
    try (NDManager scratch =
        store
            .get(DerivedScalarType.ATTN_WRITE_SUM_HEADS, PassType.FORWARD)
            .get(layer)
            .getManager()
            .newSubManager()) {
      requireReluLike(autoencoder, scratch);
      if (!(activation > 0)) {
        return Optional.empty(); // "Latent is inactive."
      }
      NDArray writes =
          store
              .get(DerivedScalarType.ATTN_WRITE_SUM_HEADS, PassType.FORWARD)
              .get(layer)
              .get(new NDIndex("{}", token));
      writes.attach(scratch);
      NDArray encoderRow = autoencoder.encoderWeight(scratch).get(new NDIndex("{}", latent));
      NDArray attribution =
          writes.toType(DataType.FLOAT32, false).matMul(encoderRow.reshape(-1, 1)).reshape(-1);
      long n = attribution.getShape().get(0);
      if (k > n && !clamp) {
        throw new IllegalArgumentException(
            "numTokensAttendedTo "
                + k
                + " exceeds the prompt's "
                + n
                + " tokens (the original fails"
                + " here too; DebuggerOptions.clampTokensAttendedTo returns every token instead)");
      }
      NDList top = attribution.topK((int) Math.min(k, n), 0, true, true);
      top.attach(scratch);
      float[] values = top.get(0).toFloatArray();
      long[] positions = top.get(1).toType(DataType.INT64, false).toLongArray();
      List<Integer> indices = new ArrayList<>();
      List<Double> attributions = new ArrayList<>();
      for (int i = 0; i < values.length; i++) {
        indices.add((int) positions[i]);
        attributions.add((double) values[i]);
      }
      return Optional.of(new TopTokensAttendedTo(indices, attributions));
    }
  }

  /**
   * The original's {@code _is_relu}, made deterministic: on a probe of one −1 and ones elsewhere,
   * the activation gives 0 for the −1 and only 0s and 1s (ReLU; TopK with a ReLU after it).
   */
  private static void requireReluLike(SparseAutoencoder autoencoder, NDManager scratch) {
    float[] input = new float[autoencoder.nLatents()];
    java.util.Arrays.fill(input, 1f);
    input[0] = -1f;
    float[] probe = autoencoder.activation(scratch.create(input)).toFloatArray();
    boolean reluLike = probe[0] == 0f;
    float max = 0f;
    for (float p : probe) {
      reluLike &= p == 0f || p == 1f;
      max = Math.max(max, p);
    }
    if (!reluLike || max != 1f) {
      throw new IllegalArgumentException(
          "Token-pair attribution needs a ReLU-like autoencoder activation (the original: \"Only"
              + " implemented for ReLU activation function for now\")");
    }
  }
}
