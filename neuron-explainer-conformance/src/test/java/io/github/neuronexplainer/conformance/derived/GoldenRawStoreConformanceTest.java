package io.github.neuronexplainer.conformance.derived;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.conformance.GoldenDsts;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The derived-scalar engine alone: every DST the original computed in a scenario, derived one at a
 * time from the golden raw activations of the prompt (plus the scenario's online SAE activations)
 * and compared entry by entry, for every pack, prompt and scenario.
 *
 * <p>The golden raw activations hold the logit-difference loss's gradients. So in the trace
 * scenarios, whose gradients flow from the traced activation, only the reconstituted-gradient DSTs
 * (which need no backward pass) are checked here; {@code EndToEndConformanceTest} runs the rest
 * through the model. The fake-gradient scenario's DSTs are refused (see {@code
 * RefusedCombinationsConformanceTest}).
 */
@ExtendWith(PackFixtures.class)
class GoldenRawStoreConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(GoldenRawStoreConformanceTest.class);

  private static final Set<Scenario> TRACED_FROM_AN_ACTIVATION =
      EnumSet.of(
          Scenario.TRACE_MLP_POST_ACT,
          Scenario.TRACE_MLP_POST_ACT_ATTN_SAE,
          Scenario.TRACE_ATTN_QK_PROBS);

  private static final Set<DerivedScalarType> RECONSTITUTED_GRADIENT =
      EnumSet.of(
          DerivedScalarType.MLP_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          DerivedScalarType.RESID_POST_EMBEDDING_PROJ_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          DerivedScalarType.ONLINE_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          DerivedScalarType.ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
          DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD);

  static Stream<Arguments> packsPromptsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Pack.Prompt prompt : pack.prompts()) {
        for (Scenario scenario : Scenario.values()) {
          // a pack made before a scenario was added has no golden for it
          if (scenario != Scenario.FAKE_GRAD_MLP_NEURON
              && pack.hasGolden(prompt.id() + "/dst_" + scenario.value() + ".safetensors")) {
            args.add(Arguments.of(pack, prompt.id(), scenario));
          }
        }
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("packsPromptsAndScenarios")
  void everyGoldenEntryMatches(
      Pack pack, String promptId, Scenario scenario, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompt(promptId);
    try (NDManager manager = fixture.manager().newSubManager();
        RawActivationStore raw = fixture.rawStore(prompt, scenario)) {
      GoldenDsts golden = new GoldenDsts(pack, prompt, scenario, manager);
      for (DerivedScalarType dst : golden.computed()) {
        if (TRACED_FROM_AN_ACTIVATION.contains(scenario) && !RECONSTITUTED_GRADIENT.contains(dst)) {
          continue;
        }
        DstConfig config =
            scenario
                .settings(pack, prompt)
                .apply(fixture.config(scenario).deriveGradients(golden.derivedGradients(dst)))
                .build();
        try (DerivedScalarStore store =
            DerivedScalarStore.deriveFromRaw(
                raw, List.of(ScalarDerivers.makeScalarDeriver(dst, config)), manager)) {
          golden.compare(dst, store);
        } catch (RuntimeException e) {
          golden.fail(dst + ": " + e);
        }
      }
      LOG.info(
          "{} {} {}: {} entries, max abs error {}",
          pack,
          promptId,
          scenario.value(),
          golden.entriesChecked(),
          golden.maxError());
      golden.assertNoFailures(pack + " " + promptId + " " + scenario.value());
    }
  }
}
