package io.github.neuronexplainer.models.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.OnlineAutoencoderActivations;
import io.github.neuronexplainer.core.derived.RawActivationKey;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.autoencoder.AutoencoderSplice;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original's {@code derived_scalar_computation}: one hooked forward pass (and, with a loss or a
 * trace, one backward pass) over a batch of prompts, recording exactly the raw activations the
 * requested derivers read, then the derivation of every prompt's DSTs into its own store.
 *
 * <pre>{@code
 * PromptRequest clean = PromptRequest.builder(tokens).loss(loss).dsts(requests).build();
 * PromptRequest ablated = clean.toBuilder()
 *     .ablation(Ablation.ofNode(new NodeIndex(NodeType.MLP_NEURON, List.of(3, 17), 0, PassType.FORWARD), 0f))
 *     .build();
 * List<PromptDerivedScalars> both = DerivedScalarComputation.run(model, autoencoders, List.of(clean, ablated), manager);
 * }</pre>
 *
 * <p>Prompts are right-padded into one pass; every prompt's trace and ablations act on its batch
 * element only, and the backward pass starts from the sum of every prompt's traced activation (or,
 * without a trace, its loss), as in the original. Autoencoders are spliced into the pass (with
 * their error term) only when a latent is ablated; otherwise their {@code ONLINE_*} activations are
 * computed from the recorded input activation and its gradient ({@link
 * OnlineAutoencoderActivations}), which is what the identity splice records.
 *
 * <p>Stateless and thread-safe; each call runs its pass on the calling thread.
 */
public final class DerivedScalarComputation {
  private static final Logger LOG = LoggerFactory.getLogger(DerivedScalarComputation.class);

  private DerivedScalarComputation() {}

  /**
   * One prompt, no trace, no ablation: {@link #run} of {@code PromptRequest.builder(tokens)
   * .loss(loss).dsts(dstsAndConfigs)}.
   */
  public static PromptDerivedScalars getDerivedScalarsForPrompt(
      Transformer model,
      int[] tokens,
      Loss loss,
      List<AutoencoderContext> autoencoders,
      List<DstAndConfig> dstsAndConfigs,
      NDManager owner) {
    PromptRequest request = PromptRequest.builder(tokens).loss(loss).dsts(dstsAndConfigs).build();
    return run(model, autoencoders, List.of(request), owner).get(0);
  }

  /** As {@link #getDerivedScalarsForPrompt} with derivers built by the caller. */
  public static PromptDerivedScalars derive(
      Transformer model,
      int[] tokens,
      Loss loss,
      List<AutoencoderContext> autoencoders,
      List<ScalarDeriver> derivers,
      NDManager owner) {
    PromptRequest request = PromptRequest.builder(tokens).loss(loss).build();
    return runDerivers(model, autoencoders, List.of(request), List.of(derivers), owner).get(0);
  }

  /**
   * Runs a batch of prompts in one pass and derives each prompt's DSTs.
   *
   * @param autoencoders the autoencoder families whose online activations the derivers read, that
   *     ablations or traces of latents need (empty for none)
   * @param owner the manager that owns the returned stores (in sub-managers)
   * @return one result per request, in order; the caller closes them
   * @throws UnsupportedDerivationException if a prompt's DSTs need gradients but it has neither a
   *     loss nor a trace, or need an autoencoder that was not given
   * @throws IllegalArgumentException for an index (token, layer, neuron, head, latent) out of range
   */
  public static List<PromptDerivedScalars> run(
      Transformer model,
      List<AutoencoderContext> autoencoders,
      List<PromptRequest> requests,
      NDManager owner) {
    List<List<ScalarDeriver>> derivers = new ArrayList<>();
    for (PromptRequest request : requests) {
      List<ScalarDeriver> list = new ArrayList<>();
      // The same DST with the same config may be asked for by several specs: derive it once.
      for (DstAndConfig dst : new LinkedHashSet<>(request.dsts())) {
        list.add(ScalarDerivers.makeScalarDeriver(dst.dst(), dst.config()));
      }
      derivers.add(list);
    }
    return runDerivers(model, autoencoders, requests, derivers, owner);
  }

  private static List<PromptDerivedScalars> runDerivers(
      Transformer model,
      List<AutoencoderContext> autoencoders,
      List<PromptRequest> requests,
      List<List<ScalarDeriver>> derivers,
      NDManager owner) {
    if (requests.isEmpty()) {
      throw new IllegalArgumentException("Give at least one prompt");
    }
    if (requests.stream().noneMatch(r -> DirectEffectTrace.isThroughV(r.trace()))) {
      return runPass(
          model, autoencoders, requests, derivers, Set.of(), new NDArray[requests.size()], owner);
    }
    try (NDManager scratch = owner.newSubManager()) {
      NDArray[] valueDirections = valueDirections(model, autoencoders, requests, scratch);
      return runPass(model, autoencoders, requests, derivers, Set.of(), valueDirections, owner);
    }
  }

  /**
   * For each prompt traced through V, {@link DirectEffectTrace#valueDirection} from a first pass
   * (all such prompts in one batch) that records the downstream gradient; null for other prompts.
   */
  private static NDArray[] valueDirections(
      Transformer model,
      List<AutoencoderContext> autoencoders,
      List<PromptRequest> requests,
      NDManager scratch) {
    List<Integer> traced = new ArrayList<>();
    List<PromptRequest> downstream = new ArrayList<>();
    List<ActivationIndex> residuals = new ArrayList<>();
    Set<RawActivationKey> keys = new LinkedHashSet<>();
    for (int b = 0; b < requests.size(); b++) {
      PromptRequest request = requests.get(b);
      if (DirectEffectTrace.isThroughV(request.trace())) {
        BatchHooks.target(
            request.trace(), request.tokens().size(), autoencoders); // validates the indices
        ActivationIndex residual =
            DirectEffectTrace.downstreamResidual(
                request.trace(), request.tokens().size(), autoencoders, model.config().nLayers());
        traced.add(b);
        downstream.add(DirectEffectTrace.downstreamRequest(request));
        residuals.add(residual);
        keys.add(DirectEffectTrace.key(residual));
      }
    }
    NDArray[] directions = new NDArray[requests.size()];
    List<List<ScalarDeriver>> none =
        downstream.stream().map(r -> List.<ScalarDeriver>of()).toList();
    List<PromptDerivedScalars> firstPass =
        runPass(
            model, autoencoders, downstream, none, keys, new NDArray[downstream.size()], scratch);
    try {
      for (int i = 0; i < traced.size(); i++) {
        ActivationIndex residual = residuals.get(i);
        NDArray gradient =
            firstPass
                .get(i)
                .rawActivations()
                .get(residual.activationLocationType(), PassType.BACKWARD)
                .get(residual.layerIndex());
        int b = traced.get(i);
        directions[b] =
            DirectEffectTrace.valueDirection(model, requests.get(b).trace(), gradient, scratch);
      }
    } finally {
      firstPass.forEach(PromptDerivedScalars::close);
    }
    return directions;
  }

  /**
   * One pass over the batch; {@code extraKeys} are recorded besides what the derivers read, and
   * {@code valueDirections} holds each V trace's direction.
   */
  private static List<PromptDerivedScalars> runPass(
      Transformer model,
      List<AutoencoderContext> autoencoders,
      List<PromptRequest> requests,
      List<List<ScalarDeriver>> derivers,
      Set<RawActivationKey> extraKeys,
      NDArray[] valueDirections,
      NDManager owner) {
    int batch = requests.size();
    Set<RawActivationKey> captured = new LinkedHashSet<>(extraKeys);
    for (int b = 0; b < batch; b++) {
      Set<RawActivationKey> needed = new LinkedHashSet<>();
      derivers.get(b).forEach(d -> needed.addAll(d.requiredRawActivations()));
      Set<RawActivationKey> keys = capturedKeys(needed, autoencoders);
      PromptRequest request = requests.get(b);
      for (RawActivationKey key : keys) {
        if (key.passType() == PassType.BACKWARD && !request.backpropagates()) {
          throw new UnsupportedDerivationException(
              "The DSTs of prompt "
                  + b
                  + " read "
                  + key
                  + ", which needs a backward pass: give a loss"
                  + " or a trace");
        }
      }
      captured.addAll(keys);
    }
    boolean spliced =
        requests.stream()
            .flatMap(r -> r.ablations().stream())
            .anyMatch(a -> a.index().activationLocationType().isOnline());
    AutoencoderSplice splice =
        spliced && !autoencoders.isEmpty()
            ? AutoencoderSplice.of(MultiAutoencoderContext.of(autoencoders))
            : null;
    boolean backward = requests.stream().anyMatch(PromptRequest::backpropagates);

    Hooks.Builder hooks = Hooks.builder();
    List<BatchHooks.TraceTarget> targets = new ArrayList<>();
    List<NDArray[]> traced = new ArrayList<>();
    for (int b = 0; b < batch; b++) {
      PromptRequest request = requests.get(b);
      BatchHooks.TraceTarget target =
          request.trace() == null
              ? null
              : BatchHooks.target(request.trace(), request.tokens().size(), autoencoders);
      NDArray[] value = new NDArray[1];
      if (valueDirections[b] != null) {
        BatchHooks.addTraceThroughV(hooks, target, b, valueDirections[b], value);
      } else if (target != null) {
        BatchHooks.addTrace(hooks, target, b, value);
      }
      targets.add(target);
      traced.add(value);
    }
    for (int b = 0; b < batch; b++) {
      for (Ablation ablation : requests.get(b).ablations()) {
        checkTokens(ablation, requests.get(b).tokens().size());
        if (ablation.index().passType() == PassType.BACKWARD && !backward) {
          throw new UnsupportedDerivationException(
              "A gradient ablation at "
                  + ablation.index()
                  + " needs a backward pass: give a loss (e.g."
                  + " Loss.zero()) or a trace");
        }
        BatchHooks.addAblation(hooks, ablation, b, splice);
      }
    }
    RunRequest.Builder run =
        RunRequest.builder().prompts(requests.stream().map(PromptRequest::tokenArray).toList());
    for (RawActivationKey key : captured) {
      HookPoint point = HookPoint.forLocation(key.location());
      if (key.passType() == PassType.FORWARD) {
        run.forward(point);
      } else {
        run.gradients(point);
      }
    }
    if (splice != null) {
      hooks.addAll(splice.hooks());
      for (HookPoint point : splice.points().values()) {
        run.forward(point);
        if (backward) {
          run.gradients(point);
        }
      }
    }
    float[] losses = new float[batch];
    float[] tracedValues = new float[batch];
    Arrays.fill(losses, Float.NaN);
    Arrays.fill(tracedValues, Float.NaN);
    if (backward) {
      run.loss(
          (logits, last) -> {
            NDArray total = null;
            for (int b = 0; b < batch; b++) {
              PromptRequest request = requests.get(b);
              NDArray value = null;
              if (request.loss() != null) {
                value =
                    request
                        .loss()
                        .compute(logits.get(new NDIndex("{}:{}", b, b + 1)), new long[] {last[b]});
                losses[b] = value.getFloat();
              }
              if (request.trace() != null) {
                value = traced.get(b)[0];
                tracedValues[b] = value.getFloat();
              }
              if (value != null) {
                total = total == null ? value : total.add(value);
              }
            }
            return total;
          });
    }
    run.hooks(hooks.build());
    long start = System.nanoTime();
    List<RawActivationStore> raws = new ArrayList<>();
    List<PromptDerivedScalars> results = new ArrayList<>();
    try {
      try (ActivationCache cache = model.runWithCache(run.build(), owner)) {
        int nLayers = model.config().nLayers();
        for (int b = 0; b < batch; b++) {
          RawActivationStore raw = new RawActivationStore(owner);
          raws.add(raw);
          Fill fill =
              new Fill(
                  cache, b, requests.get(b).tokens().size(), targets.get(b), autoencoders, nLayers);
          for (RawActivationKey key : captured) {
            fill.location(
                raw, key.location(), key.passType(), HookPoint.forLocation(key.location()));
          }
          if (splice != null) {
            for (Map.Entry<ActivationLocationType, HookPoint> e : splice.points().entrySet()) {
              fill.location(raw, e.getKey(), PassType.FORWARD, e.getValue());
              if (backward) {
                fill.location(raw, e.getKey(), PassType.BACKWARD, e.getValue());
              }
            }
          } else {
            OnlineAutoencoderActivations.addTo(raw, autoencodersWithInputs(raw, autoencoders));
          }
        }
      }
      long passDone = System.nanoTime();
      for (int b = 0; b < batch; b++) {
        DerivedScalarStore store =
            DerivedScalarStore.deriveFromRaw(raws.get(b), derivers.get(b), owner);
        results.add(new PromptDerivedScalars(store, raws.get(b), losses[b], tracedValues[b]));
      }
      LOG.debug(
          "{} prompt(s): pass {} ms, derivation {} ms",
          batch,
          (passDone - start) / 1_000_000,
          (System.nanoTime() - passDone) / 1_000_000);
      return results;
    } catch (RuntimeException e) {
      results.forEach(r -> r.derivedScalars().close());
      raws.forEach(RawActivationStore::close);
      throw e;
    }
  }

  /**
   * The autoencoders whose input activation was recorded (their online activations can be
   * computed).
   */
  private static List<AutoencoderContext> autoencodersWithInputs(
      RawActivationStore raw, List<AutoencoderContext> autoencoders) {
    List<AutoencoderContext> list = new ArrayList<>();
    for (AutoencoderContext context : autoencoders) {
      if (raw.contains(context.inputLocation(), PassType.FORWARD)) {
        list.add(context);
      }
    }
    return list.size() == autoencoders.size() ? autoencoders : list;
  }

  /** Refuses an ablation whose token indices fall outside its prompt. */
  private static void checkTokens(Ablation ablation, int promptLength) {
    List<Dimension> dims = ablation.index().activationLocationType().shapeSpecPerTokenSequence();
    List<Integer> indices = ablation.index().tensorIndices();
    for (int d = 0; d < dims.size(); d++) {
      Integer i = indices.get(d);
      if (i != null && dims.get(d).isSequenceTokenDimension() && (i < 0 || i >= promptLength)) {
        throw new IllegalArgumentException(
            "Ablation token index "
                + i
                + " in "
                + ablation.index()
                + " is outside the prompt: valid tokens 0.."
                + (promptLength - 1));
      }
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

  /** Moves one batch element's tensors out of the cache into its raw store, cut to its length. */
  private record Fill(
      ActivationCache cache,
      int element,
      int length,
      BatchHooks.TraceTarget trace,
      List<AutoencoderContext> autoencoders,
      int nLayers) {

    void location(
        RawActivationStore raw, ActivationLocationType location, PassType pass, HookPoint point) {
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
        if (!cache.contains(point, layer, pass)) {
          continue; // not on the backward path: read as zeros by the layer indexers
        }
        NDArray tensor = cache.get(point, layer, pass).get(index(location));
        if (pass == PassType.BACKWARD
            && trace != null
            && trace.cutsGradient(location, layer, genericInput())) {
          tensor = tensor.zerosLike();
        }
        raw.put(location, pass, layer, tensor);
        any = true;
      }
      if (!any) {
        raw.putEmpty(location, pass);
      }
    }

    private ActivationLocationType genericInput() {
      return autoencoders.size() == 1 ? autoencoders.get(0).inputLocation() : null;
    }

    /** This element, each token dimension cut to the prompt's length. */
    private NDIndex index(ActivationLocationType location) {
      StringBuilder spec = new StringBuilder().append(element);
      for (Dimension dim : location.shapeSpecPerTokenSequence()) {
        spec.append(dim.isSequenceTokenDimension() ? ", :" + length : ", :");
      }
      return new NDIndex(spec.toString());
    }
  }
}
