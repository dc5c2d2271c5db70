package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every DST/setting combination the original refuses in the scenarios of the pack ({@code dst.json}
 * "failed" entries, and the first attempts with the library default config that were retried)
 * is refused here too, with a message naming the same reason.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RefusedCombinationsTest {
  private GoldenFixture fixture;

  @BeforeAll
  void load() {
    fixture = new GoldenFixture();
  }

  @AfterAll
  void close() {
    fixture.close();
  }

  static Stream<Arguments> scenarios() {
    List<Arguments> args = new ArrayList<>();
    String prompt = ConformancePack.promptIds().get(0);
    for (String scenario : GoldenFixture.SCENARIO_AUTOENCODERS.keySet()) {
      args.add(Arguments.of(prompt, scenario));
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
  @MethodSource("scenarios")
  void refusedLikeTheOriginal(String prompt, String scenario) {
    JsonNode dsts = GoldenFixture.dstJson(prompt).get("scenarios").get(scenario).get("dsts");
    int checked = 0;
    try (RawActivationStore raw = fixture.rawStore(prompt, scenario)) {
      for (Iterator<Map.Entry<String, JsonNode>> it = dsts.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        DerivedScalarType dst = DerivedScalarType.valueOf(e.getKey());
        JsonNode info = e.getValue();
        var settings = fixture.scenarioSettings(scenario, prompt);
        DstConfig defaultConfig =
            settings.apply(fixture.scenarioConfig(scenario).deriveGradients(!dst.requiresGradForForwardPass()))
                .build();
        if (info.get("status").asText().equals("ok")) {
          if (!info.has("first_attempt_error")) {
            continue;
          }
          assertThrows(
              UnsupportedDerivationException.class,
              () -> derive(raw, dst, defaultConfig),
              scenario + " " + dst + " with the default config (original: "
                  + info.get("first_attempt_error") + ")");
          checked++;
          continue;
        }
        JsonNode attempts = info.get("attempts");
        JsonNode last = attempts.get(attempts.size() - 1);
        String where = last.get("where").asText();
        String error = last.get("error").asText();
        String phrase = expectedPhrase(where, error);
        boolean[] settingsTried =
            scenario.startsWith("loss_")
                ? new boolean[] {!dst.requiresGradForForwardPass(), false}
                : new boolean[] {false}; // the other scenarios used their own config only
        for (boolean deriveGradients : settingsTried) {
          DstConfig config =
              settings.apply(fixture.scenarioConfig(scenario).deriveGradients(deriveGradients)).build();
          UnsupportedDerivationException ex =
              assertThrows(
                  UnsupportedDerivationException.class,
                  () -> derive(raw, dst, config),
                  scenario + " " + dst + " (original: " + where + ")");
          assertTrue(
              ex.getMessage().contains(phrase),
              scenario + " " + dst + ": message '" + ex.getMessage() + "' lacks '" + phrase + "'");
        }
        checked++;
      }
    }
    if (scenario.startsWith("loss_")) {
      assertTrue(checked > 0, "nothing refused in " + scenario);
    }
  }

  private void derive(RawActivationStore raw, DerivedScalarType dst, DstConfig config) {
    ScalarDeriver deriver = ScalarDerivers.makeScalarDeriver(dst, config);
    DerivedScalarStore.deriveFromRaw(raw, List.of(deriver), fixture.manager).close();
  }
}
