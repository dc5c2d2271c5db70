package io.github.neuronexplainer.conformance;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.OnlineAutoencoderActivations;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the tests of one pack share: the shipped {@link StandardModelContext} over the pack's HF
 * model and the shipped {@link LazyAutoencoderContext}s over its SAE files. Made and closed by
 * {@link PackFixtures}.
 */
public final class PackFixture implements AutoCloseable {
  private final Pack pack;
  private final NDManager manager = NDManager.newBaseManager();
  private final StandardModelContext model;
  private final Map<String, LazyAutoencoderContext> autoencoders = new LinkedHashMap<>();

  PackFixture(Pack pack) {
    this.pack = pack;
    this.model = StandardModelContext.load(pack.hfModelDir().toString());
  }

  public Pack pack() {
    return pack;
  }

  public NDManager manager() {
    return manager;
  }

  public StandardModelContext model() {
    return model;
  }

  /**
   * The shipped autoencoder context of an SAE family of the manifest ({@code mlp}, {@code attn},
   * {@code resid_mlp}).
   */
  public synchronized LazyAutoencoderContext autoencoder(String family) {
    return autoencoders.computeIfAbsent(
        family,
        key ->
            LazyAutoencoderContext.builder(pack.autoencoderFamily(key).safetensorsConfig())
                .baseDir(pack.data(""))
                .build(manager));
  }

  /** The autoencoders a scenario injects. */
  public List<AutoencoderContext> autoencoders(Scenario scenario) {
    return scenario.autoencoderFamilies().stream()
        .map(f -> (AutoencoderContext) autoencoder(f))
        .toList();
  }

  /**
   * A config builder with the model and the scenario's autoencoders (one context, or a multi
   * context).
   */
  public DstConfig.Builder config(Scenario scenario) {
    List<AutoencoderContext> list = autoencoders(scenario);
    DstConfig.Builder builder = DstConfig.builder().modelContext(model);
    return list.size() == 1
        ? builder.autoencoderContext(list.get(0))
        : builder.multiAutoencoderContext(MultiAutoencoderContext.of(list));
  }

  /** A raw store of the prompt's golden activations plus the scenario's online SAE activations. */
  public RawActivationStore rawStore(Pack.Prompt prompt, Scenario scenario) {
    RawActivationStore raw = new RawActivationStore(manager);
    try (NDManager loading = manager.newSubManager()) {
      Map<String, NDArray> tensors = pack.arrays(prompt.id() + "/activations.safetensors", loading);
      tensors.forEach(
          (name, tensor) -> {
            String[] parts = name.split("/"); // fwd|bwd / LOCATION / layer, or "tokens"
            if (parts.length == 3) {
              PassType pass = parts[0].equals("fwd") ? PassType.FORWARD : PassType.BACKWARD;
              raw.put(
                  ActivationLocationType.valueOf(parts[1]),
                  pass,
                  LayerIndex.parse(parts[2]),
                  tensor);
            }
          });
    }
    OnlineAutoencoderActivations.addTo(raw, autoencoders(scenario));
    return raw;
  }

  @Override
  public synchronized void close() {
    autoencoders.values().forEach(LazyAutoencoderContext::close);
    model.close();
    manager.close();
  }
}
