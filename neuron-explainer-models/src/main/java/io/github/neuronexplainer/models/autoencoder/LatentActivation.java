package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The activation an autoencoder applies to its latent pre-activations: the original's {@code
 * ACTIVATIONS_CLASSES} ({@code ReLU}, {@code Identity}, {@code TopK}), with their state-dict form
 * ({@code activation} = class name, {@code activation_state_dict} = {@code {}} or {@code {"k": k,
 * "postact_fn": name}}).
 *
 * <p>Immutable and thread-safe.
 */
public sealed interface LatentActivation {
  /** The original's class name, as stored under {@code activation}. */
  String name();

  /** Applies the activation; the result is attached to the manager of {@code preActivation}. */
  NDArray apply(NDArray preActivation);

  /** The {@code activation_state_dict} entry: empty, or {@code k} and {@code postact_fn}. */
  Map<String, Object> stateDict();

  /** {@code nn.ReLU}. */
  LatentActivation RELU = new Relu();

  /** {@code nn.Identity}. */
  LatentActivation IDENTITY = new Identity();

  /** {@code TopK(k, postact_fn)}. */
  static LatentActivation topK(int k, LatentActivation postActivation) {
    return new TopK(k, postActivation);
  }

  /**
   * The activation named {@code name} with its state dict, as the original's {@code
   * Autoencoder.from_state_dict} reads them; a missing name means ReLU, as in the original.
   *
   * @param source names the file in error messages
   * @throws IllegalArgumentException for unknown names or a TopK state dict without a valid {@code
   *     k} / {@code postact_fn}
   */
  static LatentActivation fromStateDict(String name, Map<String, ?> stateDict, String source) {
    String n = name == null ? "ReLU" : name;
    return switch (n) {
      case "ReLU" -> RELU;
      case "Identity" -> IDENTITY;
      case "TopK" -> {
        Object k = stateDict == null ? null : stateDict.get("k");
        Object post = stateDict == null ? null : stateDict.get("postact_fn");
        if (!(k instanceof Number number) || number.longValue() < 1) {
          throw new IllegalArgumentException(
              source
                  + ": a TopK activation needs a positive integer 'k' in activation_state_dict, got "
                  + k);
        }
        if (!(post instanceof String postName) || postName.equals("TopK")) {
          throw new IllegalArgumentException(
              source
                  + ": a TopK activation needs 'postact_fn' (ReLU or Identity) in"
                  + " activation_state_dict, got "
                  + post);
        }
        yield topK(Math.toIntExact(number.longValue()), fromStateDict(postName, Map.of(), source));
      }
      default ->
          throw new IllegalArgumentException(
              source
                  + ": unknown autoencoder activation '"
                  + n
                  + "'; the original supports "
                  + supportedNames());
    };
  }

  /** {@code nn.ReLU}: {@code max(x, 0)}. */
  record Relu() implements LatentActivation {
    @Override
    public String toString() {
      return name();
    }

    @Override
    public String name() {
      return "ReLU";
    }

    /**
     * {@code torch.relu}. Not {@code maximum(0f)}: DJL's {@code NDArray.op(Number)} wraps the
     * number in a temporary tensor over a Java buffer and closes it at once, while autograd keeps
     * it for the backward pass, which then reads freed memory once the garbage collector ran.
     */
    @Override
    public NDArray apply(NDArray preActivation) {
      return ai.djl.nn.Activation.relu(preActivation);
    }

    @Override
    public Map<String, Object> stateDict() {
      return Map.of();
    }
  }

  /** {@code nn.Identity}. */
  record Identity() implements LatentActivation {
    @Override
    public String toString() {
      return name();
    }

    @Override
    public String name() {
      return "Identity";
    }

    @Override
    public NDArray apply(NDArray preActivation) {
      return preActivation;
    }

    @Override
    public Map<String, Object> stateDict() {
      return Map.of();
    }
  }

  /**
   * The original's {@code TopK} ({@code toString} as in the original's repr, e.g. {@code TopK(k=8,
   * postact_fn=ReLU)}): along the last axis, keeps the {@code k} largest pre-activations, applies
   * {@code postActivation} to them and sets every other latent to 0 ({@code torch.topk} then {@code
   * scatter_} into zeros).
   */
  record TopK(int k, LatentActivation postActivation) implements LatentActivation {
    public TopK {
      if (k < 1) {
        throw new IllegalArgumentException("TopK needs k >= 1, got " + k);
      }
      if (postActivation == null || postActivation instanceof TopK) {
        throw new IllegalArgumentException("TopK's post-activation must be ReLU or Identity");
      }
    }

    @Override
    public String name() {
      return "TopK";
    }

    @Override
    public NDArray apply(NDArray preActivation) {
      int axis = preActivation.getShape().dimension() - 1;
      long width = preActivation.getShape().get(axis);
      if (k > width) {
        throw new IllegalArgumentException(
            "TopK with k=" + k + " cannot select from " + width + " latents");
      }
      NDList top = preActivation.topK(k, axis, true, true);
      NDArray values = postActivation.apply(top.get(0));
      return preActivation.zerosLike().scatter(top.get(1), values, axis);
    }

    @Override
    public Map<String, Object> stateDict() {
      Map<String, Object> sd = new LinkedHashMap<>();
      sd.put("k", (long) k);
      sd.put("postact_fn", postActivation.name());
      return sd;
    }

    @Override
    public String toString() {
      return "TopK(k=" + k + ", postact_fn=" + postActivation.name() + ")";
    }
  }

  /** The names the original accepts. */
  static List<String> supportedNames() {
    return List.of("ReLU", "Identity", "TopK");
  }
}
