package io.github.neuronexplainer.explanations;

import static io.github.neuronexplainer.explanations.ConformanceSupport.counter;
import static io.github.neuronexplainer.explanations.ConformanceSupport.ints;
import static io.github.neuronexplainer.explanations.ConformanceSupport.records;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.core.records.AttentionUtils;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.Slice;
import io.github.neuronexplainer.explanations.ConformanceSupport.Spec;
import io.github.neuronexplainer.explanations.prompt.PromptBuilder;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import io.github.neuronexplainer.explanations.prompt.Role;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Data-driven replay of every golden case of records, formatting, prompts and serialisation. */
class ExplanationsConformanceTest {
  static final String AR = "neuron_explainer.activations.activation_records.";
  static final String ACT = "neuron_explainer.activations.activations.";
  static final String AU = "neuron_explainer.activations.attention_utils.";
  static final String PB = "neuron_explainer.explanations.prompt_builder.";
  static final String FD = "neuron_explainer.fast_dataclasses.fast_dataclasses.";

  static Spec spec(ConformanceSupport.Handler h) {
    return new Spec(h, null);
  }

  static double num(JsonNode n) {
    return Json.number(n).doubleValue();
  }

  @TestFactory
  Stream<DynamicTest> activationRecords() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        AR + "UNKNOWN_ACTIVATION_STRING",
        spec((in, c) -> ActivationRecords.UNKNOWN_ACTIVATION_STRING));
    s.put(
        AR + "relu",
        spec(
            (in, c) -> {
              double r = ActivationRecords.relu(num(in.get("x")));
              Map<String, Object> m = new LinkedHashMap<>();
              m.put("float", r);
              m.put("is_negative_zero", r == 0.0 && 1 / r < 0);
              return m;
            }));
    // Python's max keeps an int when the largest activation is an int; the port always returns a
    // double.
    s.put(
        AR + "calculate_max_activation",
        new Spec(
            (in, c) ->
                ActivationRecords.calculateMaxActivation(records(in.get("activation_records"))),
            (expected, actual, c) ->
                ConformanceSupport.assertClose(
                    Json.number(expected).doubleValue(), (Double) actual, "$")));
    s.put(
        AR + "normalize_activations",
        spec(
            (in, c) ->
                ActivationRecords.normalizeActivations(
                    Json.numbers(in.get("activation_record")), num(in.get("max_activation")))));
    s.put(
        AR + "normalize_activations_symmetric",
        spec(
            (in, c) ->
                ActivationRecords.normalizeActivationsSymmetric(
                    Json.numbers(in.get("activation_record")), num(in.get("max_activation")))));
    s.put(
        AR + "truncate_negative_activations",
        spec(
            (in, c) ->
                ActivationRecords.truncateNegativeActivations(
                    Json.activationRecord(in.get("activation_record")))));
    s.put(
        AR + "truncate_negative_activations_list",
        spec(
            (in, c) ->
                ActivationRecords.truncateNegativeActivations(
                    records(in.get("activation_records")))));
    s.put(
        AR + "_format_activation_record",
        spec(
            (in, c) ->
                ActivationRecords.formatActivationRecord(
                    Json.activationRecord(in.get("activation_record")),
                    num(in.get("max_activation")),
                    in.path("omit_zeros").asBoolean(false),
                    in.path("hide_activations").asBoolean(false),
                    in.path("start_index").asInt(0))));
    s.put(
        AR + "format_activation_records",
        spec(
            (in, c) ->
                ActivationRecords.formatActivationRecords(
                    records(in.get("activation_records")),
                    num(in.get("max_activation")),
                    in.path("omit_zeros").asBoolean(false),
                    in.hasNonNull("start_indices") ? ints(in.get("start_indices")) : null,
                    in.path("hide_activations").asBoolean(false))));
    s.put(
        AR + "format_sequences_for_simulation",
        spec(
            (in, c) -> {
              List<List<String>> all = new ArrayList<>();
              in.get("all_tokens").forEach(t -> all.add(Json.strings(t)));
              return ActivationRecords.formatSequencesForSimulation(all);
            }));
    s.put(
        AR + "_format_tokens_for_simulation",
        spec(
            (in, c) ->
                ActivationRecords.formatTokensForSimulation(Json.strings(in.get("tokens")))));
    s.put(
        AR + "non_zero_activation_proportion",
        spec(
            (in, c) ->
                ActivationRecords.nonZeroActivationProportion(
                    records(in.get("activation_records")), num(in.get("max_activation")))));
    return ConformanceSupport.cases(
        "activation_records.json",
        s,
        Map.of(
            "fn:" + AR + "get_attribute_or_key",
            "Python dict-or-attribute accessor; the Java port uses typed record accessors"));
  }

  static NeuronRecord neuronRecord(JsonNode n) {
    return FastDataclassJson.loads(Json.write(n), NeuronRecord.class);
  }

  static ActivationRecordSliceParams sliceParams(JsonNode in) {
    JsonNode n = in.path("activation_record_slice_params").path("n_examples_per_split");
    return new ActivationRecordSliceParams(n.isNumber() ? n.intValue() : null);
  }

  static List<String> firstTokens(List<ActivationRecord> records) {
    return records.stream().map(r -> r.tokens().get(0)).toList();
  }

  @TestFactory
  Stream<DynamicTest> activations() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        ACT + "get_slices_for_splits",
        spec(
            (in, c) -> {
              Map<String, Object> out = new LinkedHashMap<>();
              Slice.forSplits(
                      Json.strings(in.get("splits")),
                      in.get("num_activation_records_per_split").intValue())
                  .forEach(
                      (k, v) ->
                          out.put(
                              k,
                              Map.of(
                                  "start",
                                  (long) v.start(),
                                  "stop",
                                  (long) v.stop(),
                                  "step",
                                  (long) v.step())));
              return out;
            }));
    s.put(
        ACT + "_check_slices",
        spec(
            (in, c) -> {
              Map<String, Slice> slices = new LinkedHashMap<>();
              in.get("slices_by_split")
                  .fields()
                  .forEachRemaining(
                      e ->
                          slices.put(
                              e.getKey(),
                              new Slice(
                                  e.getValue().get("start").intValue(),
                                  e.getValue().get("stop").intValue(),
                                  e.getValue().get("step").intValue())));
              Slice.checkSlices(slices, in.get("expected_num_values").intValue());
              return null;
            }));
    s.put(
        ACT + "NeuronRecord.max_activation",
        spec((in, c) -> neuronRecord(in.get("neuron_record")).maxActivation()));
    s.put(
        ACT + "NeuronRecord.train_activation_records",
        spec(
            (in, c) ->
                firstTokens(
                    neuronRecord(in.get("neuron_record"))
                        .trainActivationRecords(sliceParams(in)))));
    s.put(
        ACT + "NeuronRecord.calibration_activation_records",
        spec(
            (in, c) ->
                firstTokens(
                    neuronRecord(in.get("neuron_record"))
                        .calibrationActivationRecords(sliceParams(in)))));
    s.put(
        ACT + "NeuronRecord.valid_activation_records",
        spec(
            (in, c) ->
                firstTokens(
                    neuronRecord(in.get("neuron_record"))
                        .validActivationRecords(sliceParams(in)))));
    s.put(
        ACT + "NeuronRecord.test_activation_records",
        spec(
            (in, c) ->
                firstTokens(
                    neuronRecord(in.get("neuron_record")).testActivationRecords(sliceParams(in)))));
    return ConformanceSupport.cases("activations.json", s, Map.of());
  }

  @TestFactory
  Stream<DynamicTest> attentionUtils() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        AU + "_inverse_triangular_number",
        spec((in, c) -> AttentionUtils.inverseTriangularNumber(in.get("n").longValue())));
    s.put(
        AU + "get_max_num_attended_to_sequence_tokens",
        spec(
            (in, c) ->
                (long)
                    AttentionUtils.maxNumAttendedToSequenceTokens(
                        in.get("num_sequence_tokens").intValue(),
                        in.get("num_activations").longValue())));
    s.put(
        AU + "get_attended_to_sequence_lengths",
        spec(
            (in, c) ->
                AttentionUtils.attendedToSequenceLengths(
                    in.get("num_sequence_tokens").intValue(),
                    in.get("num_activations").longValue())));
    s.put(
        AU + "get_attended_to_sequence_length_per_sequence_token",
        spec(
            (in, c) ->
                AttentionUtils.attendedToSequenceLengthPerSequenceToken(
                    in.get("num_sequence_tokens").intValue(),
                    in.get("max_num_attended_to_sequence_tokens").intValue())));
    s.put(
        AU + "_convert_flattened_index_to_unflattened_index_assuming_square_matrix",
        spec(
            (in, c) -> {
              List<long[]> out = new ArrayList<>();
              in.get("flat_indices")
                  .forEach(k -> out.add(AttentionUtils.unflattenAssumingSquare(k.longValue())));
              return out;
            }));
    s.put(
        AU + "convert_flattened_index_to_unflattened_index",
        spec(
            (in, c) -> {
              Integer t =
                  in.path("num_sequence_tokens").isNumber()
                      ? in.get("num_sequence_tokens").intValue()
                      : null;
              Long n =
                  in.path("num_activations").isNumber()
                      ? in.get("num_activations").longValue()
                      : null;
              if (in.has("flattened_index")) {
                return AttentionUtils.unflattenOptional(
                    in.get("flattened_index").longValue(), t, n);
              }
              List<Object> out = new ArrayList<>();
              for (JsonNode k : in.get("flat_indices")) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("flat", k.longValue());
                m.put("unflattened", AttentionUtils.unflattenOptional(k.longValue(), t, n));
                out.add(m);
              }
              return out;
            }));
    return ConformanceSupport.cases("attention_utils.json", s, Map.of());
  }

  static PromptBuilder builder(JsonNode in) {
    PromptBuilder b = new PromptBuilder(in.path("allow_extra_system_messages").asBoolean(false));
    in.get("messages")
        .forEach(
            m -> b.addMessage(Role.valueOf(m.get("role").asText()), m.get("content").asText()));
    return b;
  }

  @TestFactory
  Stream<DynamicTest> promptBuilder() {
    Map<String, Spec> s = new LinkedHashMap<>();
    s.put(
        PB + "PromptBuilder.build",
        spec(
            (in, c) -> {
              PromptBuilder b = builder(in);
              if (in.has("calls")) {
                List<Object> results = new ArrayList<>();
                in.get("calls")
                    .forEach(f -> results.add(b.build(PromptFormat.valueOf(f.asText()))));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("first", results.get(0));
                m.put("second", results.get(1));
                m.put("chat_after", results.get(2));
                return m;
              }
              return b.build(PromptFormat.valueOf(in.get("prompt_format").asText()));
            }));
    s.put(
        PB + "PromptBuilder.prompt_length_in_tokens",
        spec(
            (in, c) ->
                (long)
                    builder(in)
                        .promptLengthInTokens(
                            PromptFormat.valueOf(in.get("prompt_format").asText()), counter(in))));
    s.put(
        PB + "PromptFormat.from_string",
        spec((in, c) -> PromptFormat.fromString(in.get("s").asText()).name()));
    s.put(
        PB + "Role",
        spec(
            (in, c) -> {
              Map<String, String> m = new LinkedHashMap<>();
              for (Role r : Role.values()) {
                m.put(r.name(), r.value());
              }
              return m;
            }));
    s.put(
        PB + "PromptFormat",
        spec(
            (in, c) -> {
              Map<String, String> m = new LinkedHashMap<>();
              for (PromptFormat f : PromptFormat.values()) {
                m.put(f.name(), f.value());
              }
              return m;
            }));
    return ConformanceSupport.cases("prompt_builder.json", s, Map.of());
  }

  @TestFactory
  Stream<DynamicTest> serialization() {
    Map<String, Spec> s = new LinkedHashMap<>();
    // dumps cases describe their input in Python syntax; the port is checked on the golden bytes:
    // loading them must give the same class, and writing it back must give the same bytes.
    s.put(
        FD + "dumps",
        new Spec(
            (in, c) ->
                FastDataclassJson.loads(c.get("expected").get("value").get("bytes_utf8").asText()),
            (expected, actual, c) -> {
              assertEquals(
                  expected.get("loads_python_type").asText(),
                  FastDataclassJson.pythonTypeName(actual));
              String redumped = FastDataclassJson.dumps(actual);
              assertEquals(expected.get("loads_redumped_utf8").asText(), redumped);
              if (expected.get("loads_redumped_utf8").equals(expected.get("bytes_utf8"))) {
                assertEquals(expected.get("bytes_utf8").asText(), redumped);
              }
            }));
    s.put(
        FD + "loads",
        new Spec(
            (in, c) ->
                FastDataclassJson.loads(
                    in.get("s").asText(), in.get("backwards_compatible").asBoolean()),
            (expected, actual, c) -> {
              assertEquals(
                  expected.get("python_type").asText(), FastDataclassJson.pythonTypeName(actual));
              assertEquals(expected.get("redumped_utf8").asText(), FastDataclassJson.dumps(actual));
              if (expected.has("element_types")) {
                List<String> types =
                    ((List<?>) actual).stream().map(FastDataclassJson::pythonTypeName).toList();
                assertEquals(Json.strings(expected.get("element_types")), types);
              }
            }));
    s.put(
        FD + "<registry after importing activations.py and explanations.py>",
        new Spec(
            (in, c) -> FastDataclassJson.registeredNames(),
            (expected, actual, c) -> {
              List<String> names = new ArrayList<>();
              expected.get("dataclasses_by_name").forEach(e -> names.add(e.get("name").asText()));
              assertEquals(names, actual);
            }));
    return ConformanceSupport.cases(
        "serialization.json",
        s,
        Map.of(
            "dumps[ActivationRecord_numpy_scalars]",
            "np.bool_ True inside a float list has no Java counterpart (activations are numbers)"));
  }
}
