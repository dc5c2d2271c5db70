package io.github.neuronexplainer.explanations.fewshot;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.explanations.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The original's few-shot example sets, loaded once from the bundled resource {@code
 * few_shot_examples.json} (exact tokens, Unicode and int/float values). Thread-safe.
 */
public enum FewShotExampleSet {
  ORIGINAL("original"),
  COLANGV2("colangv2"),
  TEST("test");

  private static final String RESOURCE =
      "/io/github/neuronexplainer/explanations/few_shot_examples.json";
  private final String value;

  FewShotExampleSet(String value) {
    this.value = value;
  }

  /** The original's string value. */
  public String value() {
    return value;
  }

  /** Parses {@code "original"}, {@code "colangv2"} or {@code "test"}. */
  public static FewShotExampleSet fromString(String s) {
    for (FewShotExampleSet set : values()) {
      if (set.value.equals(s)) {
        return set;
      }
    }
    throw new IllegalArgumentException("Unrecognized example set: " + s);
  }

  /** The set's examples. */
  public List<Example> getExamples() {
    return Data.INSTANCE.examples.get(this);
  }

  /**
   * The single-token prediction example of the one-at-a-time simulator.
   *
   * @throws IllegalArgumentException for {@link #ORIGINAL}, which has none
   */
  public Example getSingleTokenPredictionExample() {
    Example e = Data.INSTANCE.singleToken.get(this);
    if (e == null) {
      throw new IllegalArgumentException("Unhandled example set: FewShotExampleSet." + name());
    }
    return e;
  }

  /** The four attention-head examples used by the attention explainer and scorer. */
  public static List<AttentionHeadFewShotExample> attentionHeadExamples() {
    return Data.INSTANCE.attention;
  }

  private static final class Data {
    static final Data INSTANCE = new Data();
    final Map<FewShotExampleSet, List<Example>> examples = new EnumMap<>(FewShotExampleSet.class);
    final Map<FewShotExampleSet, Example> singleToken = new EnumMap<>(FewShotExampleSet.class);
    final List<AttentionHeadFewShotExample> attention;

    private Data() {
      JsonNode root;
      try (InputStream in = FewShotExampleSet.class.getResourceAsStream(RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException(
              "Missing resource " + RESOURCE + "; the jar is incomplete");
        }
        root = Json.MAPPER.readTree(in);
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot read " + RESOURCE, e);
      }
      JsonNode sets = root.get("few_shot_example_sets");
      for (FewShotExampleSet set : values()) {
        JsonNode s = sets.get(set.name());
        List<Example> list = new ArrayList<>();
        s.get("examples").forEach(e -> list.add(example(e)));
        examples.put(set, List.copyOf(list));
        JsonNode single = s.get("single_token_prediction_example");
        if (single != null && !single.isNull()) {
          singleToken.put(set, example(single));
        }
      }
      List<AttentionHeadFewShotExample> heads = new ArrayList<>();
      for (JsonNode h : root.get("attention_head_few_shot_examples")) {
        List<AttentionTokenPairExample> pairs = new ArrayList<>();
        for (JsonNode p : h.get("token_pair_examples")) {
          List<int[]> coords = new ArrayList<>();
          p.get("token_pair_coordinates")
              .forEach(c -> coords.add(new int[] {c.get(0).intValue(), c.get(1).intValue()}));
          pairs.add(new AttentionTokenPairExample(Json.strings(p.get("tokens")), coords));
        }
        List<AttentionSimulationExample> sims = new ArrayList<>();
        JsonNode se = h.get("simulation_examples");
        if (se != null && !se.isNull()) {
          for (JsonNode s : se) {
            JsonNode c = s.get("token_pair_coordinates");
            sims.add(
                new AttentionSimulationExample(
                    s.get("token_pair_example_index").intValue(),
                    c.get(0).intValue(),
                    c.get(1).intValue(),
                    s.get("label").intValue()));
          }
        }
        heads.add(new AttentionHeadFewShotExample(pairs, h.get("explanation").textValue(), sims));
      }
      attention = List.copyOf(heads);
    }

    private static Example example(JsonNode e) {
      List<Integer> revealed = new ArrayList<>();
      e.get("first_revealed_activation_indices").forEach(i -> revealed.add(i.intValue()));
      JsonNode t = e.get("token_index_to_score");
      return new Example(
          Json.activationRecords(e.get("activation_records")),
          e.get("explanation").textValue(),
          revealed,
          t == null || t.isNull() ? null : t.intValue());
    }
  }
}
