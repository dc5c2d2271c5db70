package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDArray;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.models.hooks.HookContext;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Autoencoders spliced into the forward pass: the original's {@code AutoencoderHooks} wrapped in an
 * {@code AutoencoderHookGraph}. At the autoencoder's input location (e.g. {@code mlp/post_act}),
 * after the forward and gradient hooks there (stage {@link Hooks.Stage#SECOND_FORWARD}, the
 * original's {@code fwd2}), each layer that has an autoencoder computes
 *
 * <pre>
 *   latents        = runPoint(latents, encode(x))
 *   reconstruction = runPoint(reconstruction, decode(latents))
 *   addError:  error = runPoint(error, x − decode(encode(x)));  output = reconstruction + error
 *   otherwise: error = runPoint(error, x − reconstruction);     output = reconstruction
 * </pre>
 *
 * so hooks registered at the three custom points {@code autoencoder/<input>/latents}, {@code
 * .../reconstruction} and {@code .../error} (see {@link #latentsPoint}) can read, ablate or
 * differentiate latents like any activation, and {@link
 * io.github.neuronexplainer.models.RunRequest} can record them. With {@code addError} (what the
 * original's hook graph uses) the output is {@code x} up to float rounding, so the model's
 * behaviour is unchanged while latents are observable; an edit of the latents then changes the
 * output by exactly the decoded difference. Without it the reconstruction replaces the activation.
 * As in the original, the error term is computed from the unedited latents, and gradients at the
 * latents point only flow through the reconstruction.
 *
 * <p>The {@code ONLINE_*} activation locations map to the points as in the original's {@code
 * AutoencoderHookGraph}: latents → {@code ONLINE_MLP_AUTOENCODER_LATENT} (MLP_POST_ACT or
 * RESID_DELTA_MLP input) or {@code ONLINE_ATTENTION_AUTOENCODER_LATENT} (RESID_DELTA_ATTN), error →
 * {@code ONLINE_MLP_AUTOENCODER_ERROR} / {@code ONLINE_RESIDUAL_MLP_AUTOENCODER_ERROR} / {@code
 * ONLINE_RESIDUAL_ATTENTION_AUTOENCODER_ERROR}, and, when only one autoencoder family is spliced,
 * also the generic {@code ONLINE_AUTOENCODER_LATENT}.
 *
 * <pre>{@code
 * AutoencoderSplice splice = AutoencoderSplice.of(context);
 * HookPoint latents = splice.point(ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT);
 * RunRequest request = RunRequest.builder().prompt(tokens).hooks(splice.hooks())
 *     .forward(latents).gradients(latents).loss(loss).build();
 * }</pre>
 *
 * <p>Every layer's autoencoder is obtained from its context (so loaded) when the splice is built,
 * as the original's {@code AutoencoderHookGraph} does, never during a pass. (Loading allocates
 * heavily and so can run the garbage collector in the middle of a pass; with DJL 0.36 that corrupts
 * the backward pass of any {@code NDArray.op(Number)} recorded before, whose temporary scalar
 * tensor autograd still reads.) The contexts must stay open while the hooks are used.
 *
 * <p>Immutable and thread-safe (the hooks run on the pass's thread).
 */
public final class AutoencoderSplice {
  private static final Set<ActivationLocationType> SUPPORTED_INPUTS =
      Set.of(
          ActivationLocationType.MLP_POST_ACT,
          ActivationLocationType.RESID_DELTA_MLP,
          ActivationLocationType.RESID_DELTA_ATTN);

  private final Hooks hooks;
  private final Map<ActivationLocationType, HookPoint> points;
  private final boolean addError;

  private AutoencoderSplice(
      Hooks hooks, Map<ActivationLocationType, HookPoint> points, boolean addError) {
    this.hooks = hooks;
    this.points = Collections.unmodifiableMap(points);
    this.addError = addError;
  }

  /** One autoencoder family, with the error term added (as the original's hook graph). */
  public static AutoencoderSplice of(AutoencoderContext context) {
    return of(List.of(context), true);
  }

  /**
   * One autoencoder family; {@code addError} false replaces the activation by the reconstruction.
   */
  public static AutoencoderSplice of(AutoencoderContext context, boolean addError) {
    return of(List.of(context), addError);
  }

  /** Every context of {@code multi}, with the error term added. */
  public static AutoencoderSplice of(MultiAutoencoderContext multi) {
    return of(List.copyOf(multi.contextsByNodeType().values()), true);
  }

  /** Every context of {@code multi}. */
  public static AutoencoderSplice of(MultiAutoencoderContext multi, boolean addError) {
    return of(List.copyOf(multi.contextsByNodeType().values()), addError);
  }

  /** The hooks of {@link #of(AutoencoderContext)}. */
  public static Hooks hooks(AutoencoderContext context) {
    return of(context).hooks();
  }

  /** The hooks of {@link #of(MultiAutoencoderContext)}. */
  public static Hooks hooks(MultiAutoencoderContext multi) {
    return of(multi).hooks();
  }

  private static AutoencoderSplice of(List<AutoencoderContext> contexts, boolean addError) {
    Hooks.Builder hooks = Hooks.builder();
    Map<ActivationLocationType, HookPoint> points = new EnumMap<>(ActivationLocationType.class);
    Set<ActivationLocationType> inputs = new java.util.HashSet<>();
    for (AutoencoderContext context : contexts) {
      ActivationLocationType input = context.inputLocation();
      if (!SUPPORTED_INPUTS.contains(input)) {
        throw new IllegalArgumentException(
            "Autoencoders on "
                + input
                + " cannot be spliced in (as in the original, only raw activations "
                + SUPPORTED_INPUTS
                + " are supported)");
      }
      if (!inputs.add(input)) {
        throw new IllegalArgumentException("Two autoencoder families read " + input);
      }
      HookPoint at = HookPoint.forLocation(input);
      HookPoint latents = latentsPoint(input);
      HookPoint reconstruction = reconstructionPoint(input);
      HookPoint error = errorPoint(input);
      List<Integer> layers = context.layers();
      Set<Integer> hookLayers = at.perLayer() ? Set.copyOf(layers) : Set.of();
      if (at.perLayer() && layers.contains(LayerIndex.NONE)) {
        throw new IllegalArgumentException(
            input + " has layers; configure an autoencoder per layer, not one for layer NONE");
      }
      // As the original's AutoencoderHookGraph, resolve (load) every layer's autoencoder now, not
      // inside a pass.
      Map<Integer, SparseAutoencoder> byLayer = new java.util.HashMap<>();
      for (int layer : layers) {
        byLayer.put(layer, context.autoencoder(layer));
      }
      hooks.secondForward(
          at,
          hookLayers,
          (x, ctx) ->
              splice(
                  byLayer.get(at.perLayer() ? ctx.layer() : LayerIndex.NONE),
                  x,
                  ctx,
                  latents,
                  reconstruction,
                  error,
                  addError));
      ActivationLocationType latentLocation = input.onlineAutoencoderLatentLocation();
      ActivationLocationType errorLocation = input.onlineAutoencoderErrorLocation();
      if (points.containsKey(latentLocation)) {
        throw new IllegalArgumentException(
            "Two autoencoder families produce "
                + latentLocation
                + " (e.g. MLP_POST_ACT and RESID_DELTA_MLP); splice at most one of them");
      }
      points.put(latentLocation, latents);
      points.put(errorLocation, error);
    }
    if (contexts.size() == 1) {
      points.put(
          ActivationLocationType.ONLINE_AUTOENCODER_LATENT,
          latentsPoint(contexts.get(0).inputLocation()));
    }
    return new AutoencoderSplice(hooks.build(), new LinkedHashMap<>(points), addError);
  }

  private static NDArray splice(
      SparseAutoencoder ae,
      NDArray x,
      HookContext ctx,
      HookPoint latentsPoint,
      HookPoint reconstructionPoint,
      HookPoint errorPoint,
      boolean addError) {
    NDArray latents = ae.encode(x);
    NDArray hooked = ctx.runPoint(latentsPoint, latents);
    NDArray reconstruction = ctx.runPoint(reconstructionPoint, ae.decode(hooked));
    if (addError) {
      NDArray error = ctx.runPoint(errorPoint, x.sub(ae.decode(latents)));
      return reconstruction.add(error);
    }
    ctx.runPoint(errorPoint, x.sub(reconstruction));
    return reconstruction;
  }

  /**
   * The point of the latents of autoencoders on {@code input}: {@code autoencoder/<input>/latents}.
   */
  public static HookPoint latentsPoint(ActivationLocationType input) {
    return subPoint(input, "latents");
  }

  /** {@code autoencoder/<input>/reconstruction}. */
  public static HookPoint reconstructionPoint(ActivationLocationType input) {
    return subPoint(input, "reconstruction");
  }

  /** {@code autoencoder/<input>/error}: {@code x − decode(latents)}. */
  public static HookPoint errorPoint(ActivationLocationType input) {
    return subPoint(input, "error");
  }

  private static HookPoint subPoint(ActivationLocationType input, String name) {
    return HookPoint.custom(
        "autoencoder/" + input.name().toLowerCase(java.util.Locale.ROOT) + "/" + name,
        HookPoint.forLocation(input).perLayer());
  }

  /** The hooks to pass to a run (e.g. {@code RunRequest.Builder.hooks}). */
  public Hooks hooks() {
    return hooks;
  }

  /** Every {@code ONLINE_*} location this splice produces, with its hook point. */
  public Map<ActivationLocationType, HookPoint> points() {
    return points;
  }

  /**
   * The hook point producing {@code location}.
   *
   * @throws IllegalArgumentException naming the available locations, if this splice does not
   *     produce it (e.g. the generic ONLINE_AUTOENCODER_LATENT with several families spliced)
   */
  public HookPoint point(ActivationLocationType location) {
    HookPoint p = points.get(location);
    if (p == null) {
      throw new IllegalArgumentException(
          location
              + " is not produced by these autoencoders; available: "
              + points.keySet()
              + (location == ActivationLocationType.ONLINE_AUTOENCODER_LATENT
                  ? " (the generic location needs exactly one autoencoder family)"
                  : ""));
    }
    return p;
  }

  public boolean addsError() {
    return addError;
  }

  @Override
  public String toString() {
    return "AutoencoderSplice" + points + (addError ? " (error added)" : "");
  }
}
