package io.github.neuronexplainer.conformance.derived;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.conformance.GoldenDsts;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.derived.PromptRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End to end through the shipped code: the pack's model ({@code StandardModelContext}) runs each
 * prompt once with the logit-difference loss and the scenario's autoencoders, and every DST the
 * original computed in the scenario (all requested in ONE call) is compared with the goldens. For
 * every pack, prompt and scenario: the trace scenarios back-propagate from the traced activation
 * through the model, the latent-batched one runs forward only, the fake-gradient one runs the zero
 * loss with its gradient ablation.
 */
@ExtendWith(PackFixtures.class)
class EndToEndConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(EndToEndConformanceTest.class);

  static Stream<Arguments> packsPromptsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Pack.Prompt prompt : pack.prompts()) {
        for (Scenario scenario : Scenario.values()) {
          // The in-repo packs leave out the fake-gradient scenario's golden tensors (size budget).
          if (pack.hasGolden(prompt.id() + "/dst_" + scenario.value() + ".safetensors")) {
            args.add(Arguments.of(pack, prompt.id(), scenario));
          }
        }
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1} {2}")
  @MethodSource("packsPromptsAndScenarios")
  void oneCallReproducesEveryGoldenEntry(
      Pack pack, String promptId, Scenario scenario, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompt(promptId);
    try (NDManager manager = NDManager.newBaseManager()) {
      GoldenDsts golden = new GoldenDsts(pack, prompt, scenario, manager);
      List<DstAndConfig> requests = new ArrayList<>();
      for (DerivedScalarType dst : golden.computed()) {
        requests.add(
            new DstAndConfig(
                dst,
                scenario
                    .settings(pack, prompt)
                    .apply(fixture.config(scenario).deriveGradients(golden.derivedGradients(dst)))
                    .build()));
      }
      TraceConfig trace = scenario.trace(pack, prompt);
      Loss loss =
          trace != null || scenario.forwardOnly()
              ? null
              : scenario == Scenario.FAKE_GRAD_MLP_NEURON
                  ? Loss.zero()
                  : Loss.logitDiff(prompt.targetToken(), prompt.distractorToken());
      PromptRequest prompted =
          PromptRequest.builder(prompt.tokens())
              .loss(loss)
              .trace(trace)
              .ablations(scenario.ablations(pack, prompt))
              .dsts(requests)
              .build();
      try (PromptDerivedScalars result =
          DerivedScalarComputation.run(
                  fixture.model().getOrCreateModel(),
                  fixture.autoencoders(scenario),
                  List.of(prompted),
                  manager)
              .get(0)) {
        if (loss != null) {
          assertEquals(golden.loss(), result.loss(), 1e-5, "loss");
        } else {
          assertTrue(Float.isNaN(result.loss()), "no loss without a loss function");
        }
        assertEquals(
            trace != null, !Float.isNaN(result.tracedValue()), "traced value reported iff traced");
        for (DstAndConfig request : requests) {
          golden.compare(request.dst(), result.derivedScalars());
        }
      }
      LOG.info(
          "{} {} {}: {} DSTs, {} entries end to end, max abs error {}",
          pack,
          promptId,
          scenario.value(),
          requests.size(),
          golden.entriesChecked(),
          golden.maxError());
      golden.assertNoFailures(pack + " " + promptId + " " + scenario.value());
    }
  }
}
