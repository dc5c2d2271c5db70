package io.github.neuronexplainer.models.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.OnlineAutoencoderActivations;
import io.github.neuronexplainer.core.derived.RawActivationKey;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original's {@code get_derived_scalars_for_prompt}: one hooked forward pass (and, with a
 * loss, one backward pass) over a prompt that records exactly the raw activations the requested
 * derivers read, then the derivation of every DST.
 *
 * <p>Autoencoders are not spliced into the pass: their {@code ONLINE_*} activations are computed
 * from the recorded input activation and its gradient ({@link OnlineAutoencoderActivations}),
 * which is what a splice of {@code decode(z) + error} records, since that splice is the identity.
 *
 * <p>Stateless and thread-safe; each call runs its pass on the calling thread.
 */
public final class DerivedScalarComputation {
  private static final Logger LOG = LoggerFactory.getLogger(DerivedScalarComputation.class);

  private DerivedScalarComputation() {}

  /**
   * Builds every deriver with {@link ScalarDerivers#makeScalarDeriver} and runs {@link
   * #getDerivedScalarsForPrompt(Transformer, int[], Loss, List, List, NDManager)}.
   */
  public static PromptDerivedScalars getDerivedScalarsForPrompt(
      Transformer model,
      int[] tokens,
      Loss loss,
      List<AutoencoderContext> autoencoders,
      List<DstAndConfig> dstsAndConfigs,
      NDManager owner) {
    List<ScalarDeriver> derivers = new ArrayList<>();
    for (DstAndConfig request : dstsAndConfigs) {
      derivers.add(ScalarDerivers.makeScalarDeriver(request.dst(), request.config()));
    }
    return derive(model, tokens, loss, autoencoders, derivers, owner);
  }

  /**
   * Runs the prompt and derives {@code derivers}.
   *
   * @param loss the scalar to back-propagate from (e.g. {@link Loss#logitDiff(int, int)}); null
   *     for a forward pass only
   * @param autoencoders the autoencoder families whose online activations the derivers read
   *     (empty for none)
   * @param owner the manager that owns the returned stores (in sub-managers)
   * @throws UnsupportedDerivationException if a deriver needs gradients but there is no loss, or
   *     needs online autoencoder activations of an autoencoder that was not given
   */
  public static PromptDerivedScalars derive(
      Transformer model,
      int[] tokens,
      Loss loss,
      List<AutoencoderContext> autoencoders,
      List<ScalarDeriver> derivers,
      NDManager owner) {
    Set<RawActivationKey> needed = new LinkedHashSet<>();
    for (ScalarDeriver deriver : derivers) {
      needed.addAll(deriver.requiredRawActivations());
    }
    Set<RawActivationKey> captured = capturedKeys(needed, autoencoders);
    for (RawActivationKey key : captured) {
      if (key.passType() == PassType.BACKWARD && loss == null) {
        throw new UnsupportedDerivationException(
            "The requested DSTs read " + key + ", which needs a backward pass: give a loss");
      }
    }
    RunRequest.Builder request = RunRequest.builder().prompt(tokens);
    for (RawActivationKey key : captured) {
      HookPoint point = HookPoint.forLocation(key.location());
      if (key.passType() == PassType.FORWARD) {
        request.forward(point);
      } else {
        request.gradients(point);
      }
    }
    if (loss != null) {
      request.loss(loss);
    }
    long start = System.nanoTime();
    RawActivationStore raw = new RawActivationStore(owner);
    float lossValue = Float.NaN;
    try {
      try (ActivationCache cache = model.runWithCache(request.build(), owner)) {
        if (loss != null) {
          lossValue = cache.loss();
        }
        int nLayers = model.config().nLayers();
        for (RawActivationKey key : captured) {
          fill(raw, cache, key, nLayers);
        }
      }
      OnlineAutoencoderActivations.addTo(raw, autoencoders);
      long passDone = System.nanoTime();
      DerivedScalarStore store = DerivedScalarStore.deriveFromRaw(raw, derivers, owner);
      LOG.debug(
          "Pass {} ms, derivation {} ms ({} DSTs)",
          (passDone - start) / 1_000_000,
          (System.nanoTime() - passDone) / 1_000_000,
          derivers.size());
      return new PromptDerivedScalars(store, raw, lossValue);
    } catch (RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  /**
   * The locations to record: every non-online one the derivers read, plus the input (and, where
   * online gradients are read, the input's gradient) of each autoencoder whose online activations
   * are read.
   */
  static Set<RawActivationKey> capturedKeys(
      Set<RawActivationKey> needed, List<AutoencoderContext> autoencoders) {
    Set<RawActivationKey> captured = new LinkedHashSet<>();
    for (RawActivationKey key : needed) {
      if (!key.location().isOnline()) {
        captured.add(key);
        continue;
      }
      boolean provided = false;
      for (AutoencoderContext context : autoencoders) {
        ActivationLocationType input = context.inputLocation();
        boolean matches =
            key.location() == input.onlineAutoencoderLatentLocation()
                || key.location() == input.onlineAutoencoderErrorLocation()
                || (key.location() == ActivationLocationType.ONLINE_AUTOENCODER_LATENT
                    && autoencoders.size() == 1);
        if (matches) {
          captured.add(new RawActivationKey(input, PassType.FORWARD));
          captured.add(new RawActivationKey(input, key.passType()));
          provided = true;
        }
      }
      if (!provided) {
        throw new UnsupportedDerivationException(
            "The requested DSTs read "
                + key
                + " but no matching autoencoder was given (autoencoders: "
                + autoencoders.stream().map(AutoencoderContext::inputLocation).toList()
                + ")");
      }
    }
    return captured;
  }

  /** Moves one location's per-layer tensors (batch element 0) into the raw store. */
  private static void fill(
      RawActivationStore raw, ActivationCache cache, RawActivationKey key, int nLayers) {
    ActivationLocationType location = key.location();
    HookPoint point = HookPoint.forLocation(location);
    List<Integer> layers = new ArrayList<>();
    if (location.hasNoLayers()) {
      layers.add(LayerIndex.NONE);
    } else {
      for (int layer = 0; layer < nLayers; layer++) {
        layers.add(layer);
      }
    }
    boolean any = false;
    for (int layer : layers) {
      if (!cache.contains(point, layer, key.passType())) {
        continue; // not on the backward path: read as zeros by the layer indexers
      }
      NDArray batched = cache.get(point, layer, key.passType());
      NDArray first = batched.get(0);
      raw.put(location, key.passType(), layer, first);
      any = true;
    }
    if (!any) {
      raw.putEmpty(location, key.passType());
    }
  }
}
