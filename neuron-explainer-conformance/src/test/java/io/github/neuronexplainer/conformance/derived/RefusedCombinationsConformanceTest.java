package io.github.neuronexplainer.conformance.derived;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
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
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every DST/setting combination the original refuses in a scenario ({@code dst.json} "failed"
 * entries, and first attempts with the library default config that were retried) is refused here
 * too, with a message naming the same reason; for the first prompt of every pack.
 */
@ExtendWith(PackFixtures.class)
class RefusedCombinationsConformanceTest {

  static Stream<Arguments> packsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Scenario scenario : Scenario.values()) {
        args.add(Arguments.of(pack, scenario));
      }
    }
    return args.stream();
  }

  /** The reason the original gave (its source location) → a phrase our message must contain. */
  private static String expectedPhrase(String where, String error) {
    if (where.contains("get_single_autoencoder_context")) {
      return "exactly one autoencoder";
    }
    if (where.contains("config.py") && where.contains("get_autoencoder_context")) {
      String rest = error.substring(error.indexOf("NodeType.") + 9);
      int end = rest.indexOf(':');
      return "autoencoder of node type " + (end < 0 ? rest : rest.substring(0, end)).trim();
    }
    if (where.contains("reconstituter_class.py") && where.contains("__init__")) {
      return "needs an autoencoder on a residual write";
    }
    if (where.contains("make_autoencoder_latent_grad_wrt_mlp_post_act_input_scalar_deriver")) {
      return "needs an autoencoder on MLP_POST_ACT";
    }
    if (where.contains("make_no_backward_pass_scalar_source_for_final_residual_grad")) {
      return "trace_config";
    }
    if (where.contains("make_vocab_token_write_to_input_direction_scalar_deriver")) {
      return "activationIndexForFakeGrad";
    }
    if (where.contains("make_online_autoencoder_error_scalar_deriver")) {
      return "needs an autoencoder on an activation of node type";
    }
    throw new AssertionError("Unmapped refusal reason " + where);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("packsAndScenarios")
  void refusedLikeTheOriginal(Pack pack, Scenario scenario, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompts().get(0);
    int checked = 0;
    try (NDManager manager = fixture.manager().newSubManager();
        RawActivationStore raw = fixture.rawStore(prompt, scenario)) {
      GoldenDsts golden = new GoldenDsts(pack, prompt, scenario, manager);
      for (Map.Entry<DerivedScalarType, JsonNode> e : golden.all().entrySet()) {
        DerivedScalarType dst = e.getKey();
        JsonNode info = e.getValue();
        if (info.get("status").asText().equals("ok")) {
          if (info.has("first_attempt_error")) {
            DstConfig defaults =
                config(fixture, scenario, prompt, !dst.requiresGradForForwardPass());
            assertThrows(
                UnsupportedDerivationException.class,
                () -> derive(raw, dst, defaults, manager),
                scenario.value()
                    + " "
                    + dst
                    + " with the default config (original: "
                    + info.get("first_attempt_error")
                    + ")");
            checked++;
          }
          continue;
        }
        JsonNode attempts = info.get("attempts");
        JsonNode last = attempts.get(attempts.size() - 1);
        String where = last.get("where").asText();
        String phrase = expectedPhrase(where, last.get("error").asText());
        // The loss scenarios tried the default config, then derive_gradients=false; the others
        // their own config only.
        boolean[] settingsTried =
            Scenario.LOSS.contains(scenario)
                ? new boolean[] {!dst.requiresGradForForwardPass(), false}
                : new boolean[] {false};
        for (boolean deriveGradients : settingsTried) {
          DstConfig config = config(fixture, scenario, prompt, deriveGradients);
          UnsupportedDerivationException ex =
              assertThrows(
                  UnsupportedDerivationException.class,
                  () -> derive(raw, dst, config, manager),
                  scenario.value() + " " + dst + " (original: " + where + ")");
          assertTrue(
              ex.getMessage().contains(phrase),
              scenario.value()
                  + " "
                  + dst
                  + ": message '"
                  + ex.getMessage()
                  + "' lacks '"
                  + phrase
                  + "'");
        }
        checked++;
      }
    }
    if (Scenario.LOSS.contains(scenario)) {
      assertTrue(checked > 0, "nothing refused in " + scenario.value());
    }
  }

  private static DstConfig config(
      PackFixture fixture, Scenario scenario, Pack.Prompt prompt, boolean deriveGradients) {
    return scenario
        .settings(fixture.pack(), prompt)
        .apply(fixture.config(scenario).deriveGradients(deriveGradients))
        .build();
  }

  private static void derive(
      RawActivationStore raw, DerivedScalarType dst, DstConfig config, NDManager manager) {
    DerivedScalarStore.deriveFromRaw(
            raw, List.of(ScalarDerivers.makeScalarDeriver(dst, config)), manager)
        .close();
  }
}
