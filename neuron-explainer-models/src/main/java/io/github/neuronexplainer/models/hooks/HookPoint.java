package io.github.neuronexplainer.models.hooks;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A point in the forward pass where hooks can read, replace or differentiate the tensor flowing
 * through: the original's hook tree, addressed by path ({@code "mlp/post_act"}, {@code
 * "resid/torso/ln_attn/scale"}; dots work as separators too). Per-layer points are called once per
 * layer with the layer index; the others ({@link #perLayer()} false) once per pass.
 *
 * <p>Tensors seen at a point keep the batch dimension first. Attention points use the original's
 * layouts: q/k/v {@code [b, s, heads, d_head]}, qk_logits/qk_probs {@code [b, q, k, heads]},
 * qk_softmax_denominator {@code [b, q, 1, heads]}, v_out {@code [b, q, heads, d_head]}.
 *
 * <p>Besides the transformer's own points, components spliced into the pass (e.g. autoencoders)
 * define points of their own with {@link #custom}. Immutable and thread-safe.
 */
public record HookPoint(String path, boolean perLayer) {
  public static final HookPoint RESID_POST_EMB = standard("resid/post_emb", false);
  public static final HookPoint LN_ATTN_POST_MEAN_SUBTRACTION =
      standard("resid/torso/ln_attn/post_mean_subtraction", true);
  public static final HookPoint LN_ATTN_SCALE = standard("resid/torso/ln_attn/scale", true);
  public static final HookPoint LN_ATTN_POST_SCALE =
      standard("resid/torso/ln_attn/post_scale", true);
  public static final HookPoint POST_LN_ATTN = standard("resid/torso/post_ln_attn", true);
  public static final HookPoint ATTN_Q = standard("attn/q", true);
  public static final HookPoint ATTN_K = standard("attn/k", true);
  public static final HookPoint ATTN_V = standard("attn/v", true);
  public static final HookPoint ATTN_QK_LOGITS = standard("attn/qk_logits", true);
  public static final HookPoint ATTN_QK_SOFTMAX_DENOMINATOR =
      standard("attn/qk_softmax_denominator", true);
  public static final HookPoint ATTN_QK_PROBS = standard("attn/qk_probs", true);
  public static final HookPoint ATTN_V_OUT = standard("attn/v_out", true);
  public static final HookPoint DELTA_ATTN = standard("resid/torso/delta_attn", true);
  public static final HookPoint POST_ATTN = standard("resid/torso/post_attn", true);
  public static final HookPoint LN_MLP_POST_MEAN_SUBTRACTION =
      standard("resid/torso/ln_mlp/post_mean_subtraction", true);
  public static final HookPoint LN_MLP_SCALE = standard("resid/torso/ln_mlp/scale", true);
  public static final HookPoint LN_MLP_POST_SCALE = standard("resid/torso/ln_mlp/post_scale", true);
  public static final HookPoint POST_LN_MLP = standard("resid/torso/post_ln_mlp", true);
  public static final HookPoint MLP_PRE_ACT = standard("mlp/pre_act", true);
  public static final HookPoint MLP_POST_ACT = standard("mlp/post_act", true);
  public static final HookPoint DELTA_MLP = standard("resid/torso/delta_mlp", true);
  public static final HookPoint POST_MLP = standard("resid/torso/post_mlp", true);
  public static final HookPoint LN_F_POST_MEAN_SUBTRACTION =
      standard("resid/ln_f/post_mean_subtraction", false);
  public static final HookPoint LN_F_SCALE = standard("resid/ln_f/scale", false);
  public static final HookPoint LN_F_POST_SCALE = standard("resid/ln_f/post_scale", false);
  public static final HookPoint POST_LN_F = standard("resid/post_ln_f", false);
  public static final HookPoint LOGITS = standard("logits", false);

  private static Map<String, HookPoint> standardPoints;

  public HookPoint {
    if (path == null || path.isBlank()) {
      throw new IllegalArgumentException("A hook point needs a non-empty path");
    }
    path = normalize(path);
  }

  private static synchronized HookPoint standard(String path, boolean perLayer) {
    if (standardPoints == null) {
      standardPoints = new LinkedHashMap<>();
    }
    HookPoint point = new HookPoint(path, perLayer);
    standardPoints.put(point.path(), point);
    return point;
  }

  /** A point defined by a component spliced into the pass, e.g. an autoencoder's latents. */
  public static HookPoint custom(String path, boolean perLayer) {
    HookPoint point = new HookPoint(path, perLayer);
    if (standardPoints.containsKey(point.path())) {
      throw new IllegalArgumentException(
          "'" + path + "' is a standard transformer hook point; use HookPoint.fromPath");
    }
    return point;
  }

  /** All of the transformer's own points, in forward order within a layer. */
  public static List<HookPoint> standardPoints() {
    return List.copyOf(standardPoints.values());
  }

  /**
   * The standard point at {@code path} ({@code "mlp.post_act"}, {@code "resid/torso/post_mlp"}; the
   * original's dotted {@code append_to_path} form also works).
   *
   * @throws IllegalArgumentException naming the valid paths when there is no such point
   */
  public static HookPoint fromPath(String path) {
    HookPoint point = standardPoints.get(normalize(path));
    if (point == null) {
      throw new IllegalArgumentException(
          "Unknown hook point '" + path + "'; valid points: " + standardPoints.keySet());
    }
    return point;
  }

  /**
   * The standard point where {@code location} is produced.
   *
   * @throws IllegalArgumentException for locations that the plain transformer does not produce
   *     (layer-norm outputs, {@code ONLINE_*} autoencoder locations)
   */
  public static HookPoint forLocation(ActivationLocationType location) {
    return switch (location) {
      case RESID_POST_EMBEDDING -> RESID_POST_EMB;
      case RESID_DELTA_ATTN -> DELTA_ATTN;
      case RESID_POST_ATTN -> POST_ATTN;
      case RESID_DELTA_MLP -> DELTA_MLP;
      case RESID_POST_MLP -> POST_MLP;
      case MLP_INPUT_LAYER_NORM_SCALE -> LN_MLP_SCALE;
      case ATTN_INPUT_LAYER_NORM_SCALE -> LN_ATTN_SCALE;
      case RESID_FINAL_LAYER_NORM_SCALE -> LN_F_SCALE;
      case ATTN_QUERY -> ATTN_Q;
      case ATTN_KEY -> ATTN_K;
      case ATTN_VALUE -> ATTN_V;
      case ATTN_QK_LOGITS -> ATTN_QK_LOGITS;
      case ATTN_QK_PROBS -> ATTN_QK_PROBS;
      case ATTN_WEIGHTED_SUM_OF_VALUES -> ATTN_V_OUT;
      case MLP_PRE_ACT -> MLP_PRE_ACT;
      case MLP_POST_ACT -> MLP_POST_ACT;
      case LOGITS -> LOGITS;
      default ->
          throw new IllegalArgumentException(
              location
                  + " is not produced by the plain transformer (it needs an autoencoder spliced in,"
                  + " or it has no hook in the original)");
    };
  }

  /** True where {@link #forLocation} succeeds. */
  public static boolean isStandardLocation(ActivationLocationType location) {
    try {
      forLocation(location);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static String normalize(String path) {
    String p = path.replace('.', '/');
    // The original's mapping omits "torso" for residual locations inside layers.
    if (p.startsWith("resid/")
        && !p.startsWith("resid/torso/")
        && !p.equals("resid/post_emb")
        && !p.startsWith("resid/ln_f")
        && !p.equals("resid/post_ln_f")) {
      p = "resid/torso/" + p.substring("resid/".length());
    }
    return p;
  }

  @Override
  public String toString() {
    return path;
  }
}
