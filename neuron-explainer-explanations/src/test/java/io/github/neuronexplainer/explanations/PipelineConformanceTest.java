package io.github.neuronexplainer.explanations;

import static io.github.neuronexplainer.explanations.ConformanceSupport.assertClose;
import static io.github.neuronexplainer.explanations.ConformanceSupport.assertMatches;
import static io.github.neuronexplainer.explanations.ConformanceSupport.counter;
import static io.github.neuronexplainer.explanations.ConformanceSupport.records;
import static io.github.neuronexplainer.explanations.ConformanceSupport.toJson;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.ScoredAttentionSimulation;
import io.github.neuronexplainer.core.records.ScoredSequenceSimulation;
import io.github.neuronexplainer.core.records.ScoredSimulation;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.ConformanceSupport.FakeClient;
import io.github.neuronexplainer.explanations.ConformanceSupport.Spec;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.explainer.AttentionHeadExplainer;
import io.github.neuronexplainer.explanations.explainer.AttentionPairs;
import io.github.neuronexplainer.explanations.explainer.ContextSize;
import io.github.neuronexplainer.explanations.explainer.GenerationOptions;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.AttentionTokenPairExample;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.scoring.AttentionHeadOneAtATimeScorer;
import io.github.neuronexplainer.explanations.scoring.CalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.scoring.LinearCalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.scoring.PercentileMatchingCalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.scoring.Scoring;
import io.github.neuronexplainer.explanations.scoring.UncalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.ExplanationDummySimulator;
import io.github.neuronexplainer.explanations.simulator.ExplanationNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.ExplanationTokenByTokenSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import io.github.neuronexplainer.explanations.simulator.Logprobs;
import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.SimulationResponseParser;
import io.github.neuronexplainer.explanations.simulator.SimulationType;
import io.github.neuronexplainer.explanations.simulator.TokenPrediction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Data-driven replay of the explainer, simulator and scoring goldens, fake-client exchanges
 * included.
 */
class PipelineConformanceTest {
  static final String EX = "neuron_explainer.explanations.explainer.";
  static final String SIM = "neuron_explainer.explanations.simulator.";
  static final String SC = "neuron_explainer.explanations.scoring.";
  static final String CAL = "neuron_explainer.explanations.calibrated_simulator.";
  static final String AHS = "neuron_explainer.explanations.attention_head_scoring.";
  static final String TYPED_API =
      "Python **kwargs validation; the Java API is typed, so the argument cannot be unknown or missing";

  static Spec spec(ConformanceSupport.Handler h) {
    return new Spec(h, null);
  }

  static <T> T await(CompletableFuture<T> f) {
    return LlmClient.await(f);
  }

  // ------------------------------------------------------------------ explainer.json

  static TokenActivationPairExplainer tokenExplainer(
      JsonNode ctor, JsonNode in, List<String> notices, LlmClient client) {
    return TokenActivationPairExplainer.builder()
        .client(client)
        .promptFormat(PromptFormat.valueOf(ctor.get("prompt_format").asText()))
        .contextSize(ContextSize.valueOf(ctor.path("context_size").asText("FOUR_K")))
        .fewShotExampleSet(
            FewShotExampleSet.valueOf(ctor.path("few_shot_example_set").asText("ORIGINAL")))
        .repeatNonZeroActivations(ctor.path("repeat_non_zero_activations").asBoolean(false))
        .tokenCounter(counter(in))
        .noticeListener(notices::add)
        .build();
  }

  static Integer nullableInt(JsonNode n) {
    return n == null || n.isNull() ? null : n.intValue();
  }

  static Map<String, Object> promptResult(Object prompt, List<String> notices) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("prompt", prompt);
    m.put("stdout_lines", notices);
    return m;
  }

  /**
   * Compares prompt and printed lines, and recounts the returned prompt with the case's counter: it
   * must equal the golden's last {@code prompt_length_in_tokens} call.
   */
  static final ConformanceSupport.Checker PROMPT_CHECK =
      (expected, actual, c) -> {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) actual;
        assertMatches(expected.get("prompt"), toJson(m.get("prompt")), "$.prompt");
        assertMatches(
            expected.get("stdout_lines"), toJson(m.get("stdout_lines")), "$.stdout_lines");
        JsonNode calls = expected.get("prompt_length_in_tokens_calls");
        var prompt = (io.github.neuronexplainer.explanations.prompt.Prompt) m.get("prompt");
        var counter = counter(c.get("inputs"));
        int length;
        if (prompt.isChat()) {
          length = 2;
          for (var msg : prompt.messages()) {
            length += 4 + counter.count(msg.content());
          }
        } else {
          length = counter.count(prompt.text());
        }
        assertEquals(
            calls.get(calls.size() - 1).intValue(), length, "prompt length of the returned prompt");
      };

  @TestFactory
  Stream<DynamicTest> explainer() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        EX + "<module constants>",
        spec(
            (in, c) -> {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("EXPLANATION_PREFIX", TokenActivationPairExplainer.EXPLANATION_PREFIX);
              m.put(
                  "ATTENTION_EXPLANATION_PREFIX",
                  AttentionHeadExplainer.ATTENTION_EXPLANATION_PREFIX);
              m.put("ATTENTION_SEQUENCE_SEPARATOR", AttentionPairs.ATTENTION_SEQUENCE_SEPARATOR);
              Map<String, Object> ctx = new LinkedHashMap<>();
              for (ContextSize cs : ContextSize.values()) {
                ctx.put(cs.name(), (long) cs.tokens());
              }
              m.put("ContextSize", ctx);
              Map<String, Object> sets = new LinkedHashMap<>();
              for (FewShotExampleSet f : FewShotExampleSet.values()) {
                sets.put(f.name(), f.value());
              }
              m.put("FewShotExampleSet", sets);
              return m;
            }));
    s.put(
        EX + "ContextSize.from_int",
        spec((in, c) -> ContextSize.fromInt(in.get("i").intValue()).name()));
    s.put(
        "neuron_explainer.explanations.few_shot_examples.FewShotExampleSet.from_string",
        spec((in, c) -> FewShotExampleSet.fromString(in.get("string").asText()).name()));
    s.put(
        EX + "_split_numbered_list",
        spec((in, c) -> TokenActivationPairExplainer.splitNumberedList(in.get("text").asText())));
    s.put(
        EX + "TokenActivationPairExplainer.make_explanation_prompt",
        new Spec(
            (in, c) -> {
              List<String> notices = new ArrayList<>();
              JsonNode kw = in.get("kwargs");
              var explainer = tokenExplainer(in.get("constructor"), in, notices, null);
              return promptResult(
                  explainer.makeExplanationPrompt(
                      records(kw.get("all_activations")),
                      kw.get("max_tokens_for_completion").intValue(),
                      nullableInt(kw.get("numbered_list_of_n_explanations")),
                      kw.path("omit_n_activation_records").asInt(0)),
                  notices);
            },
            PROMPT_CHECK));
    s.put(
        EX + "TokenActivationPairExplainer.generate_explanations",
        new Spec(
            (in, c) -> {
              JsonNode kw = in.get("kwargs");
              FakeClient client =
                  new FakeClient(c.get("expected").get("value").get("exchanges"), false);
              var explainer = tokenExplainer(in.get("constructor"), in, new ArrayList<>(), client);
              GenerationOptions o =
                  new GenerationOptions(
                      kw.path("num_samples").asInt(1),
                      kw.path("max_tokens").asInt(60),
                      kw.path("temperature").asDouble(1.0),
                      kw.path("top_p").asDouble(1.0),
                      nullableInt(kw.get("numbered_list_of_n_explanations")));
              List<String> explanations =
                  await(explainer.generateExplanations(records(kw.get("all_activations")), o));
              client.assertRequests(c.get("expected").get("value").get("exchanges"), false);
              return explanations;
            },
            (expected, actual, c) ->
                assertMatches(expected.get("explanations"), toJson(actual), "$.explanations")));
    s.put(
        EX + "TokenActivationPairExplainer.postprocess_explanations",
        spec(
            (in, c) ->
                TokenActivationPairExplainer.postprocessExplanations(
                    Json.strings(in.get("completions")),
                    nullableInt(in.path("prompt_kwargs").get("numbered_list_of_n_explanations")))));
    // Upstream's base class returns completions unchanged for attention heads; so does the Java
    // explainer.
    s.put(
        EX + "AttentionHeadExplainer.postprocess_explanations",
        spec((in, c) -> Json.strings(in.get("completions"))));
    s.put(
        EX + "AttentionHeadExplainer.make_explanation_prompt",
        new Spec(
            (in, c) -> {
              List<String> notices = new ArrayList<>();
              JsonNode ctor = in.get("constructor");
              JsonNode kw = in.get("kwargs");
              AttentionHeadExplainer explainer =
                  AttentionHeadExplainer.builder()
                      .promptFormat(PromptFormat.valueOf(ctor.get("prompt_format").asText()))
                      .contextSize(ContextSize.valueOf(ctor.path("context_size").asText("FOUR_K")))
                      .repeatStronglyAttendingPairs(
                          ctor.path("repeat_strongly_attending_pairs").asBoolean(false))
                      .tokenCounter(counter(in))
                      .noticeListener(notices::add)
                      .build();
              return promptResult(
                  explainer.makeExplanationPrompt(
                      records(kw.get("all_activations")),
                      kw.get("max_tokens_for_completion").intValue(),
                      kw.path("num_top_pairs_to_display").asInt(0),
                      kw.path("omit_n_token_pair_examples").asInt(0)),
                  notices);
            },
            PROMPT_CHECK));
    s.put(
        EX + "AttentionHeadExplainer.__init__",
        spec(
            (in, c) ->
                AttentionHeadExplainer.builder()
                    .contextSize(ContextSize.valueOf(in.get("context_size").asText()))
                    .build()));
    s.put(
        EX + "format_attention_head_token_pair_string",
        spec(
            (in, c) ->
                AttentionPairs.formatTokenPairString(
                    Json.strings(in.get("token_list")),
                    in.get("pair_coordinates").get(0).intValue(),
                    in.get("pair_coordinates").get(1).intValue())));
    s.put(
        EX + "format_attention_head_token_pairs",
        spec(
            (in, c) -> {
              List<AttentionTokenPairExample> examples = new ArrayList<>();
              for (JsonNode e : in.get("token_pair_examples")) {
                List<int[]> coords = new ArrayList<>();
                e.get("token_pair_coordinates")
                    .forEach(p -> coords.add(new int[] {p.get(0).intValue(), p.get(1).intValue()}));
                examples.add(new AttentionTokenPairExample(Json.strings(e.get("tokens")), coords));
              }
              return AttentionPairs.formatTokenPairs(examples, in.get("omit_zeros").asBoolean());
            }));
    s.put(
        EX + "get_top_attention_coordinates",
        new Spec(
            (in, c) -> {
              List<Object> out = new ArrayList<>();
              for (var p :
                  AttentionPairs.topAttentionCoordinates(
                      records(in.get("activation_records")), in.get("top_k").intValue())) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("record_index", (long) p.recordIndex());
                m.put("value", p.value());
                m.put("coords", List.of((long) p.from(), (long) p.to()));
                out.add(m);
              }
              return out;
            },
            (expected, actual, c) ->
                assertMatches(
                    expected, toJson(actual), "$"))); // ties too: numpy 1.24 argsort is reproduced
    return ConformanceSupport.cases(
        "explainer.json",
        s,
        Map.of(),
        c ->
            c.path("expected")
                        .path("error")
                        .path("message")
                        .asText()
                        .startsWith("Unexpected kwargs")
                    || c.path("expected").path("error").path("type").asText().equals("KeyError")
                ? TYPED_API
                : null);
  }

  // ------------------------------------------------------------------ simulator.json

  static FewShotExampleSet set(JsonNode ctor, String dflt) {
    return FewShotExampleSet.valueOf(ctor.path("few_shot_example_set").asText(dflt));
  }

  static PromptFormat format(JsonNode ctor, String dflt) {
    return PromptFormat.valueOf(ctor.path("prompt_format").asText(dflt));
  }

  static Map<String, Object> simulationResult(SequenceSimulation sim) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("sequence_simulation", sim);
    m.put("fast_dataclasses_dumps", FastDataclassJson.dumps(sim));
    return m;
  }

  static List<Object> pairs(Map<Integer, Double> m) {
    List<Object> out = new ArrayList<>();
    m.forEach((k, v) -> out.add(List.of((long) k, v)));
    return out;
  }

  /** Compares the simulation fields, and the exact dumps bytes. */
  static final ConformanceSupport.Checker SIMULATION_CHECK =
      (expected, actual, c) -> {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) actual;
        assertMatches(
            expected.get("sequence_simulation"),
            toJson(m.get("sequence_simulation")),
            "$.sequence_simulation");
        assertDumpsClose(
            expected.get("fast_dataclasses_dumps").asText(),
            (String) m.get("fast_dataclasses_dumps"));
      };

  /** The dumps text must be identical except for float digits within tolerance (exp/dot ulps). */
  static void assertDumpsClose(String expected, String actual) {
    if (expected.equals(actual)) {
      return;
    }
    assertMatches(Json.parse(expected), Json.parse(actual), "$dumps");
  }

  @TestFactory
  Stream<DynamicTest> simulator() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        SIM + "<module constants>",
        spec(
            (in, c) -> {
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("MAX_NORMALIZED_ACTIVATION", (long) Logprobs.MAX_NORMALIZED_ACTIVATION);
              List<String> tokens = new ArrayList<>();
              for (int i = 0; i <= 10; i++) {
                if (Logprobs.VALID_ACTIVATION_TOKENS.contains(Integer.toString(i))) {
                  tokens.add(Integer.toString(i));
                }
              }
              m.put("VALID_ACTIVATION_TOKENS_ORDERED", tokens);
              Map<String, Object> types = new LinkedHashMap<>();
              for (SimulationType t : SimulationType.values()) {
                types.put(t.name(), t.value());
              }
              m.put("SimulationType", types);
              return m;
            }));
    s.put(
        SIM + "SimulationType.from_string",
        spec((in, c) -> SimulationType.fromString(in.get("s").asText()).name()));
    s.put(
        SIM + "ExplanationNeuronSimulator.make_simulation_prompt",
        spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              return new ExplanationNeuronSimulator(
                      null,
                      ctor.get("explanation").asText(),
                      set(ctor, "ORIGINAL"),
                      format(ctor, "CHAT_MESSAGES"))
                  .makeSimulationPrompt(Json.strings(in.get("tokens")));
            }));
    s.put(
        SIM + "ExplanationTokenByTokenSimulator.make_single_token_simulation_prompt",
        spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              return new ExplanationTokenByTokenSimulator(
                      null,
                      ctor.get("explanation").asText(),
                      set(ctor, "COLANGV2"),
                      format(ctor, "INSTRUCTION_FOLLOWING"))
                  .makeSingleTokenSimulationPrompt(
                      Json.strings(in.get("tokens")),
                      in.get("explanation").asText(),
                      in.get("token_index_to_score").intValue());
            }));
    s.put(
        SIM + "ExplanationTokenByTokenSimulator.__init__",
        spec(
            (in, c) ->
                new ExplanationTokenByTokenSimulator(
                    null,
                    in.get("explanation").asText(),
                    FewShotExampleSet.valueOf(in.get("few_shot_example_set").asText()),
                    PromptFormat.INSTRUCTION_FOLLOWING)));
    s.put(
        SIM + "LogprobFreeExplanationTokenSimulator.make_simulation_prompt",
        spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              return new LogprobFreeExplanationTokenSimulator(
                      null,
                      ctor.get("explanation").asText(),
                      set(ctor, "COLANGV2"),
                      format(ctor, "CHAT_MESSAGES"))
                  .makeSimulationPrompt(
                      Json.strings(in.get("tokens")), in.get("explanation").asText());
            }));
    s.put(
        SIM + "_format_record_for_logprob_free_simulation_json",
        spec(
            (in, c) ->
                LogprobFreeExplanationTokenSimulator.formatRecordAsJson(
                    in.get("explanation").asText(),
                    Json.activationRecord(in.get("activation_record")),
                    in.path("include_activations").asBoolean(false))));
    s.put(
        SIM + "_parse_no_logprobs_completion_json",
        spec(
            (in, c) ->
                LogprobFreeExplanationTokenSimulator.parseNoLogprobsCompletionJson(
                    in.get("completion").asText(), in.get("tokens").size())));
    s.put(
        SIM + "parse_top_logprobs",
        spec((in, c) -> pairs(Logprobs.parseTopLogprobs(in.get("top_logprobs")))));
    s.put(
        SIM + "compute_predicted_activation_stats_for_token",
        spec(
            (in, c) -> {
              TokenPrediction p = Logprobs.computePredictedActivationStats(in.get("top_logprobs"));
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("norm_probabilities_by_distribution_value", pairs(p.normalizedProbabilities()));
              m.put("expected_value", p.expectedValue());
              return m;
            }));
    s.put(
        SIM + "compute_expected_value",
        spec(
            (in, c) -> {
              Map<Integer, Double> m = new LinkedHashMap<>();
              in.get("norm_probabilities_by_distribution_value")
                  .forEach(p -> m.put(p.get(0).intValue(), p.get(1).doubleValue()));
              return Logprobs.computeExpectedValue(m);
            }));
    s.put(
        SIM + "convert_to_byte_array",
        spec(
            (in, c) -> {
              List<Long> out = new ArrayList<>();
              for (byte b : SimulationResponseParser.convertToByteArray(in.get("s").asText())) {
                out.add((long) (b & 0xFF));
              }
              return out;
            }));
    s.put(
        SIM + "handle_byte_encoding",
        spec(
            (in, c) -> {
              var m =
                  SimulationResponseParser.handleByteEncoding(
                      Json.strings(in.get("response_tokens")),
                      in.get("merged_response_index").intValue());
              return List.of(m.token(), (long) m.index());
            }));
    s.put(
        SIM + "was_token_split",
        spec(
            (in, c) ->
                SimulationResponseParser.wasTokenSplit(
                    in.get("current_token").asText(),
                    Json.strings(in.get("response_tokens")),
                    in.get("start_index").intValue())));
    s.put(
        SIM + "parse_simulation_response",
        new Spec(
            (in, c) ->
                simulationResult(
                    SimulationResponseParser.parseSimulationResponse(
                        in.get("response"),
                        PromptFormat.valueOf(in.get("prompt_format").asText()),
                        Json.strings(in.get("tokens")))),
            SIMULATION_CHECK));
    s.put(
        SIM + "ExplanationNeuronSimulator.simulate",
        new Spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              FakeClient client =
                  new FakeClient(c.path("expected").path("value").get("exchanges"), false);
              SequenceSimulation sim =
                  await(
                      new ExplanationNeuronSimulator(
                              client,
                              ctor.get("explanation").asText(),
                              set(ctor, "ORIGINAL"),
                              format(ctor, "CHAT_MESSAGES"))
                          .simulate(Json.strings(in.get("tokens"))));
              client.assertRequests(c.get("expected").get("value").get("exchanges"), false);
              return simulationResult(sim);
            },
            SIMULATION_CHECK));
    s.put(
        SIM + "ExplanationTokenByTokenSimulator.simulate",
        new Spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              FakeClient client =
                  new FakeClient(c.path("expected").path("value").get("exchanges"), false);
              SequenceSimulation sim =
                  await(
                      new ExplanationTokenByTokenSimulator(
                              client,
                              ctor.get("explanation").asText(),
                              set(ctor, "COLANGV2"),
                              format(ctor, "INSTRUCTION_FOLLOWING"))
                          .simulate(Json.strings(in.get("tokens"))));
              client.assertRequests(c.get("expected").get("value").get("exchanges"), false);
              return simulationResult(sim);
            },
            SIMULATION_CHECK));
    s.put(
        SIM + "LogprobFreeExplanationTokenSimulator.simulate",
        new Spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              FakeClient client =
                  new FakeClient(c.path("expected").path("value").get("exchanges"), false);
              SequenceSimulation sim =
                  await(
                      new LogprobFreeExplanationTokenSimulator(
                              client,
                              ctor.get("explanation").asText(),
                              set(ctor, "COLANGV2"),
                              format(ctor, "CHAT_MESSAGES"))
                          .simulate(Json.strings(in.get("tokens"))));
              client.assertRequests(c.get("expected").get("value").get("exchanges"), false);
              return simulationResult(sim);
            },
            SIMULATION_CHECK));
    s.put(
        SIM + "ExplanationDummySimulator.simulate",
        new Spec(
            (in, c) ->
                simulationResult(
                    await(
                        new ExplanationDummySimulator().simulate(Json.strings(in.get("tokens"))))),
            SIMULATION_CHECK));
    return ConformanceSupport.cases("simulator.json", s, Map.of());
  }

  // ------------------------------------------------------------------ scoring.json

  /** Returns the golden's fixed predictions for each token sequence. */
  static NeuronSimulator fixedSimulator(JsonNode predictions, boolean fakeDistributions) {
    return tokens -> {
      for (JsonNode p : predictions) {
        if (Json.strings(p.get("tokens")).equals(tokens)) {
          List<Number> ev = Json.numbers(p.get("expected_activations"));
          List<List<Double>> values = new ArrayList<>();
          List<List<Double>> probs = new ArrayList<>();
          if (fakeDistributions) {
            for (Number e : ev) {
              double x = e.doubleValue();
              values.add(List.of(0.0, 5.0, 10.0));
              probs.add(List.of(1 - x / 10, x / 20, x / 20));
            }
          }
          return CompletableFuture.completedFuture(
              new SequenceSimulation(
                  tokens,
                  ev,
                  ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
                  values,
                  probs,
                  null));
        }
      }
      throw new AssertionError("No fixed prediction for " + tokens);
    };
  }

  static double[] doubles(JsonNode n) {
    return Json.doubles(n).stream().mapToDouble(Double::doubleValue).toArray();
  }

  static Map<String, Object> scoredSimulationResult(ScoredSimulation s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("scored_sequence_simulations", s.scoredSequenceSimulations());
    m.put("ev_correlation_score", s.evCorrelationScore());
    m.put("rsquared_score", s.rsquaredScore());
    m.put("absolute_dev_explained_score", s.absoluteDevExplainedScore());
    m.put("get_preferred_score", s.preferredScore());
    m.put("fast_dataclasses_dumps", FastDataclassJson.dumps(s));
    return m;
  }

  static final ConformanceSupport.Checker SCORED_CHECK =
      (expected, actual, c) -> {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = new LinkedHashMap<>((Map<String, Object>) actual);
        String dumps = (String) m.remove("fast_dataclasses_dumps");
        var e = expected.deepCopy();
        String expectedDumps =
            ((com.fasterxml.jackson.databind.node.ObjectNode) e)
                .remove("fast_dataclasses_dumps")
                .asText();
        assertMatches(e, toJson(m), "$");
        assertDumpsClose(expectedDumps, dumps);
      };

  static CalibratedNeuronSimulator calibrated(String className, NeuronSimulator inner) {
    return switch (className) {
      case "LinearCalibratedNeuronSimulator" -> new LinearCalibratedNeuronSimulator(inner);
      case "PercentileMatchingCalibratedNeuronSimulator" ->
          new PercentileMatchingCalibratedNeuronSimulator(inner);
      default -> new UncalibratedNeuronSimulator(inner);
    };
  }

  static Map<String, Object> fitAndApply(CalibratedNeuronSimulator sim, JsonNode in) {
    List<ActivationRecord> recs = new ArrayList<>();
    List<SequenceSimulation> sims = new ArrayList<>();
    JsonNode trues = in.get("true_activations_per_record");
    JsonNode uncal = in.get("uncalibrated_expected_activations_per_record");
    for (int i = 0; i < trues.size(); i++) {
      List<Number> t = Json.numbers(trues.get(i));
      List<String> tokens = new ArrayList<>();
      t.forEach(x -> tokens.add("t"));
      recs.add(new ActivationRecord(t, tokens));
      sims.add(
          new SequenceSimulation(
              tokens,
              Json.numbers(uncal.get(i)),
              ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
              List.of(),
              List.of(),
              null));
    }
    sim.calibrateFromSimulations(recs, sims);
    List<Object> applied = new ArrayList<>();
    in.get("apply_calibration_inputs")
        .forEach(v -> applied.add(sim.applyCalibration(Json.numbers(v))));
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("apply_calibration", applied);
    return m;
  }

  @TestFactory
  Stream<DynamicTest> scoring() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        SC + "flatten_list",
        spec(
            (in, c) -> {
              List<List<Object>> lists = new ArrayList<>();
              in.get("list_of_lists")
                  .forEach(
                      l -> {
                        List<Object> inner = new ArrayList<>();
                        l.forEach(
                            x -> inner.add(x.isTextual() ? x.textValue() : (Object) x.longValue()));
                        lists.add(inner);
                      });
              return Scoring.flattenList(lists);
            }));
    s.put(
        SC + "correlation_score",
        spec(
            (in, c) ->
                Scoring.correlationScore(
                    doubles(in.get("real_activations")),
                    doubles(in.get("predicted_activations")))));
    s.put(
        SC + "rsquared_score_from_sequences",
        spec(
            (in, c) ->
                Scoring.rsquaredScore(
                    doubles(in.get("real_activations")),
                    doubles(in.get("predicted_activations")))));
    s.put(
        SC + "absolute_dev_explained_score_from_sequences",
        spec(
            (in, c) ->
                Scoring.absoluteDevExplainedScore(
                    doubles(in.get("real_activations")),
                    doubles(in.get("predicted_activations")))));
    s.put(
        SC + "score_from_simulation",
        spec(
            (in, c) -> {
              ActivationRecord r = Json.activationRecord(in.get("real_activations"));
              SequenceSimulation sim =
                  (SequenceSimulation)
                      FastDataclassJson.loads(
                          Json.write(
                              ((com.fasterxml.jackson.databind.node.ObjectNode)
                                      in.get("simulation").deepCopy())
                                  .put("dataclass_name", "SequenceSimulation")));
              ScoredSequenceSimulation scored = Scoring.scoreSequence(r, sim);
              return switch (in.get("score_function").asText()) {
                case "correlation_score" -> scored.evCorrelationScore();
                case "rsquared_score_from_sequences" -> scored.rsquaredScore();
                default -> scored.absoluteDevExplainedScore();
              };
            }));
    s.put(
        SC + "aggregate_scored_sequence_simulations",
        new Spec(
            (in, c) -> {
              List<ScoredSequenceSimulation> list = new ArrayList<>();
              for (JsonNode n : in.get("scored_sequence_simulations")) {
                SequenceSimulation sim =
                    new SequenceSimulation(
                        Json.strings(n.get("tokens")),
                        Json.numbers(n.get("expected_activations")),
                        ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
                        List.of(),
                        List.of(),
                        null);
                list.add(
                    new ScoredSequenceSimulation(
                        sim,
                        n.get("true_activations").isNull()
                            ? null
                            : Json.numbers(n.get("true_activations")),
                        n.get("ev_correlation_score").doubleValue(),
                        null,
                        null));
              }
              return scoredSimulationResult(Scoring.aggregate(list));
            },
            SCORED_CHECK));
    s.put(
        SC + "simulate_and_score",
        new Spec(
            (in, c) ->
                scoredSimulationResult(
                    await(
                        Scoring.simulateAndScore(
                            fixedSimulator(in.get("predictions"), false),
                            records(in.get("activation_records"))))),
            SCORED_CHECK));
    s.put(
        SC + "make_simulator_and_score",
        new Spec(
            (in, c) ->
                scoredSimulationResult(
                    await(
                        CompletableFuture.completedFuture(
                                fixedSimulator(in.get("predictions"), false))
                            .thenCompose(
                                sim ->
                                    Scoring.simulateAndScore(
                                        sim, records(in.get("activation_records")))))),
            SCORED_CHECK));
    s.put(
        SC + "make_explanation_simulator",
        new Spec(
            (in, c) -> {
              JsonNode exchanges = c.get("expected").get("value").get("exchanges");
              FakeClient client = new FakeClient(exchanges, true);
              JsonNode kw = in.get("simulator_kwargs");
              var inner =
                  new ExplanationNeuronSimulator(
                      client,
                      in.get("explanation").asText(),
                      set(kw, "ORIGINAL"),
                      format(kw, "CHAT_MESSAGES"));
              CalibratedNeuronSimulator sim =
                  calibrated(in.get("calibrated_simulator_class").asText(), inner);
              await(sim.calibrate(records(in.get("calibration_activation_records"))));
              ScoredSimulation scored =
                  await(
                      Scoring.simulateAndScore(sim, records(in.get("scored_activation_records"))));
              client.assertRequests(exchanges, true);
              Map<String, Object> m = new LinkedHashMap<>();
              if (sim instanceof LinearCalibratedNeuronSimulator l) {
                m.put("regression", Map.of("coef", l.coefficient(), "intercept", l.intercept()));
              }
              m.put("scored_simulation", scoredSimulationResult(scored));
              return m;
            },
            (expected, actual, c) -> {
              @SuppressWarnings("unchecked")
              Map<String, Object> m = (Map<String, Object>) actual;
              if (expected.has("regression")) {
                assertMatches(
                    expected.get("regression"), toJson(m.get("regression")), "$.regression");
              }
              SCORED_CHECK.check(expected.get("scored_simulation"), m.get("scored_simulation"), c);
            }));
    s.put(
        SC + "make_uncalibrated_explanation_simulator",
        new Spec(
            (in, c) -> {
              JsonNode exchanges = c.get("expected").get("value").get("exchanges");
              FakeClient client = new FakeClient(exchanges, true);
              JsonNode kw = in.get("simulator_kwargs");
              var sim =
                  new UncalibratedNeuronSimulator(
                      new LogprobFreeExplanationTokenSimulator(
                          client, in.get("explanation").asText(), set(kw, "COLANGV2")));
              ScoredSimulation scored =
                  await(
                      Scoring.simulateAndScore(sim, records(in.get("scored_activation_records"))));
              client.assertRequests(exchanges, true);
              return scoredSimulationResult(scored);
            },
            (expected, actual, c) ->
                SCORED_CHECK.check(expected.get("scored_simulation"), actual, c)));
    s.put(
        CAL + "LinearCalibratedNeuronSimulator.apply_calibration",
        spec(
            (in, c) -> {
              var sim = new LinearCalibratedNeuronSimulator(new ExplanationDummySimulator());
              if (in.has("values")) {
                return sim.applyCalibration(Json.numbers(in.get("values")));
              }
              Map<String, Object> m = fitAndApply(sim, in);
              m.put("coef", sim.coefficient());
              m.put("intercept", sim.intercept());
              return m;
            }));
    s.put(
        CAL + "PercentileMatchingCalibratedNeuronSimulator.apply_calibration",
        spec(
            (in, c) -> {
              var sim =
                  new PercentileMatchingCalibratedNeuronSimulator(new ExplanationDummySimulator());
              if (in.has("values")) {
                return sim.applyCalibration(Json.numbers(in.get("values")));
              }
              Map<String, Object> m = fitAndApply(sim, in);
              m.put("sorted_uncalibrated", sim.sortedUncalibrated());
              m.put("sorted_true", sim.sortedTrue());
              return m;
            }));
    for (String cls :
        List.of(
            "LinearCalibratedNeuronSimulator",
            "PercentileMatchingCalibratedNeuronSimulator",
            "UncalibratedNeuronSimulator")) {
      s.put(
          CAL + cls + ".simulate",
          new Spec(
              (in, c) -> {
                CalibratedNeuronSimulator sim =
                    calibrated(cls, fixedSimulator(in.get("predictions"), true));
                await(sim.calibrate(records(in.get("calibration_activation_records"))));
                return simulationResult(await(sim.simulate(Json.strings(in.get("tokens")))));
              },
              SIMULATION_CHECK));
    }
    s.put(
        AHS + "AttentionHeadOneAtATimeScorer.make_token_pair_prompt",
        spec(
            (in, c) -> {
              JsonNode ctor = in.get("constructor");
              var scorer =
                  new AttentionHeadOneAtATimeScorer(
                      null,
                      format(ctor, "CHAT_MESSAGES"),
                      ctor.path("repeat_strongly_attending_pairs").asBoolean(false),
                      AttentionHeadOneAtATimeScorer.randomSampler(new Random(0)));
              return scorer.makeTokenPairPrompt(
                  in.get("explanation").asText(),
                  Json.strings(in.get("tokens")),
                  in.get("coords").get(0).intValue(),
                  in.get("coords").get(1).intValue());
            }));
    s.put(
        AHS + "AttentionHeadOneAtATimeScorer.__init__",
        spec(
            (in, c) ->
                new AttentionHeadOneAtATimeScorer(
                    null,
                    PromptFormat.valueOf(in.get("prompt_format").asText()),
                    false,
                    AttentionHeadOneAtATimeScorer.randomSampler(new Random(0)))));
    s.put(
        AHS + "AttentionHeadOneAtATimeScorer.score_explanation",
        new Spec(
            (in, c) -> {
              JsonNode exchanges = c.path("expected").path("value").get("exchanges");
              // The error golden records no exchanges: serve answers whose top logprobs hold
              // neither "0" nor "1".
              LlmClient client =
                  exchanges != null
                      ? new FakeClient(exchanges, false)
                      : request ->
                          CompletableFuture.completedFuture(
                              Json.parse(
                                  "{\"choices\":[{\"message\":{\"content\":\" 1\"},\"logprobs\":{\"content\":[{\"token\":\" 1\","
                                      + "\"logprob\":-0.1,\"top_logprobs\":[{\"token\":\" 1\",\"logprob\":-0.1},{\"token\":\"yes\",\"logprob\":-2.0}]}]}}]}"));
              var scorer =
                  new AttentionHeadOneAtATimeScorer(
                      client,
                      PromptFormat.CHAT_MESSAGES,
                      false,
                      new io.github.neuronexplainer.explanations.scoring.PythonRandom(
                          in.get("python_random_seed").longValue()));
              ScoredAttentionSimulation result =
                  await(
                      scorer.scoreExplanation(
                          in.get("explanation").asText(),
                          records(in.get("activation_records")),
                          in.get("max_activation").doubleValue(),
                          in.get("num_activations_for_scoring").intValue(),
                          in.get("low_activation_threshold").doubleValue()));
              ((FakeClient) client)
                  .assertRequests(exchanges, false); // seeded Python RNG: same order as upstream
              return result;
            },
            (expected, actual, c) -> {
              ScoredAttentionSimulation r = (ScoredAttentionSimulation) actual;
              assertClose(
                  expected.get("roc_auc_score").doubleValue(), r.rocAucScore(), "$.roc_auc_score");
              assertMatches(
                  expected.get("attention_simulations"),
                  toJson(r.attentionSimulations()),
                  "$.attention_simulations");
              assertDumpsClose(
                  expected.get("fast_dataclasses_dumps").asText(), FastDataclassJson.dumps(r));
            }));
    s.put(
        "sklearn.metrics.roc_auc_score (as used by attention_head_scoring)",
        spec(
            (in, c) ->
                Scoring.rocAucScore(
                    ConformanceSupport.ints(in.get("y_true")).stream()
                        .mapToInt(Integer::intValue)
                        .toArray(),
                    doubles(in.get("y_score")))));
    return ConformanceSupport.cases(
        "scoring.json",
        s,
        Map.of(
            "UncalibratedNeuronSimulator.apply_calibration[list_and_tuple]",
            "Python tuple input has no Java counterpart"));
  }
}
