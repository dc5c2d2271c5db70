package io.github.neuronexplainer.conformance.interactive;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.SummedScalars;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import io.github.neuronexplainer.models.derived.Ablation;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.derived.PromptRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original debugger's answers ({@code golden/interactive/}) to the requests that exercise the
 * runner: {@code inference_*}, {@code ablation_*}, {@code trace_*}, {@code derived_scalars_*} and
 * {@code multi_topk_*} on {@code /batched}. A small translation turns each request into {@link
 * PromptRequest}s (all sub-requests in ONE {@link DerivedScalarComputation#run} call, as the
 * original batches them); then every value of the response is compared: the loss, the traced
 * activation, every node value of every top-k group (looked up at the node's index in the DST of
 * the group with its node type, so no top-k tie-breaking is involved), every intermediate sum of a
 * top-k group (the store's {@code sum} keeping the requested dimensions) and every per-token value
 * of a derived-scalars spec. The request/response API itself (node tables, top-k, scored tokens) is
 * not tested here.
 */
@ExtendWith(PackFixtures.class)
class InteractiveRunnerConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(InteractiveRunnerConformanceTest.class);
  private static final List<String> PREFIXES =
      List.of("inference_", "ablation_", "trace_", "derived_scalars_", "multi_topk_");

  static Stream<Arguments> cases() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      Path dir = pack.golden("interactive");
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> files = Files.list(dir)) {
        files
            .map(p -> p.getFileName().toString())
            .filter(n -> PREFIXES.stream().anyMatch(n::startsWith))
            .filter(n -> n.endsWith(".json") || n.endsWith(".json.gz"))
            .sorted()
            .forEach(n -> args.add(Arguments.of(pack, n)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return args.stream();
  }

  static JsonNode read(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return Pack.JSON.readTree(file.toString().endsWith(".gz") ? new GZIPInputStream(in) : in);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + file, e);
    }
  }

  // fixtures/l4-h3-d12 carries no interactive goldens (fixture budget); fixtures/tiny has p1's,
  // gzipped.
  @ParameterizedTest(name = "{0} {1}", allowZeroInvocations = true)
  @MethodSource("cases")
  void everyResponseValueMatches(Pack pack, String file, PackFixtures fixtures) {
    JsonNode golden = read(pack.golden("interactive").resolve(file));
    if (!golden.path("endpoint").asText().equals("/batched") || !golden.path("error").isNull()) {
      // Other endpoints (/derived_scalars) and error responses are issue 10's request handling.
      org.junit.jupiter.api.Assumptions.assumeTrue(
          false,
          file
              + ": "
              + golden.path("endpoint").asText()
              + (golden.path("error").isNull() ? "" : " error case")
              + " is the request API's, not the runner's");
    }
    PackFixture fixture = fixtures.of(pack);
    Comparison comparison = new Comparison(file);
    try (NDManager manager = NDManager.newBaseManager();
        Autoencoders autoencoders =
            new Autoencoders(pack, golden.path("autoencoders").asText(), manager)) {
      JsonNode subs = golden.path("request").path("inferenceSubRequests");
      JsonNode responses = golden.path("response").path("inferenceSubResponses");
      List<PromptRequest> requests = new ArrayList<>();
      List<Map<String, List<DstAndConfig>>> specDsts = new ArrayList<>();
      for (int i = 0; i < subs.size(); i++) {
        int[] tokens =
            ints(
                responses
                    .get(i)
                    .path("inferenceResponse")
                    .path("inferenceAndTokenData")
                    .path("tokensAsInts"));
        Map<String, List<DstAndConfig>> bySpec = new LinkedHashMap<>();
        requests.add(translate(subs.get(i), tokens, fixture, autoencoders, bySpec));
        specDsts.add(bySpec);
      }
      List<PromptDerivedScalars> results =
          DerivedScalarComputation.run(
              fixture.model().getOrCreateModel(), autoencoders.list, requests, manager);
      try {
        for (int i = 0; i < subs.size(); i++) {
          JsonNode response = responses.get(i);
          JsonNode data = response.path("inferenceResponse").path("inferenceAndTokenData");
          comparison.scalar("sub " + i + " loss", data.path("loss"), results.get(i).loss());
          comparison.scalar(
              "sub " + i + " activationValueForBackwardPass",
              data.path("activationValueForBackwardPass"),
              results.get(i).tracedValue());
          JsonNode specs = subs.get(i).path("processingRequestSpecByName");
          for (Iterator<String> names = specs.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            comparison.spec(
                "sub " + i + " " + name,
                specs.path(name),
                response.path("processingResponseDataByName").path(name),
                results.get(i).derivedScalars());
          }
        }
      } finally {
        results.forEach(PromptDerivedScalars::close);
      }
    }
    LOG.info(
        "{} {}: {} values ({} intermediate sums), max abs error {}",
        pack,
        file,
        comparison.checked,
        comparison.sums,
        comparison.maxError);
    comparison.assertNoFailures();
  }

  /** The runner request of one sub-request; fills {@code bySpec} with each spec's DSTs. */
  private static PromptRequest translate(
      JsonNode sub,
      int[] tokens,
      PackFixture fixture,
      Autoencoders autoencoders,
      Map<String, List<DstAndConfig>> bySpec) {
    JsonNode spec = sub.path("inferenceRequestSpec");
    PromptRequest.Builder builder = PromptRequest.builder(tokens);
    JsonNode lossConfig = spec.path("lossFnConfig");
    TraceConfig trace =
        spec.path("traceConfig").isObject() ? trace(spec.path("traceConfig")) : null;
    if (trace == null && lossConfig.isObject()) {
      builder.loss(loss(lossConfig, fixture));
    } else if (trace != null && lossConfig.isObject()) {
      builder.loss(loss(lossConfig, fixture));
    }
    builder.trace(trace);
    for (JsonNode ablation : spec.path("ablationSpecs")) {
      builder.ablation(
          new Ablation(
              activationIndex(ablation.path("index")), (float) ablation.path("value").asDouble()));
    }
    TraceConfig dstTrace =
        spec.path("activationIndexForWithinLayerGrad").isObject()
            ? TraceConfig.fromActivationIndex(
                activationIndex(spec.path("activationIndexForWithinLayerGrad")))
            : trace;
    JsonNode processing = sub.path("processingRequestSpecByName");
    java.util.Set<DerivedScalarType> derived = new java.util.HashSet<>();
    for (Iterator<String> names = processing.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      JsonNode p = processing.path(name);
      if (p.has("tokenScoringType")) {
        continue; // scored tokens (the request API's) read another spec's DSTs
      }
      boolean backward = p.path("passType").asText("forward").equals("backward");
      List<DerivedScalarType> dsts = new ArrayList<>();
      if (p.has("dstListByGroupId")) {
        p.path("dstListByGroupId")
            .forEach(
                group -> group.forEach(d -> dsts.add(DerivedScalarType.fromValue(d.asText()))));
      } else {
        dsts.add(DerivedScalarType.fromValue(p.path("dst").asText()));
      }
      // As InteractiveModel: a lone token-read DST reads its node from the request's one ablation.
      ActivationIndex fakeGrad =
          dsts.equals(List.of(DerivedScalarType.VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION))
              ? activationIndex(spec.path("ablationSpecs").get(0).path("index"))
              : null;
      List<DstAndConfig> list = new ArrayList<>();
      for (DerivedScalarType dst : dsts) {
        DstConfig.Builder config =
            DstConfig.builder()
                .modelContext(fixture.model())
                .deriveGradients(backward)
                .traceConfig(dstTrace)
                .activationIndexForFakeGrad(fakeGrad);
        if (!autoencoders.list.isEmpty()) {
          config.multiAutoencoderContext(MultiAutoencoderContext.of(autoencoders.list));
        }
        list.add(new DstAndConfig(dst, config.build()));
      }
      bySpec.put(name, list);
      // Specs that repeat a DST with the same settings (e.g. sums kept along different
      // dimensions) share its deriver, as the original's processing steps share a store.
      builder.dsts(list.stream().filter(d -> derived.add(d.dst())).toList());
    }
    return builder.build();
  }

  private static Loss loss(JsonNode config, PackFixture fixture) {
    int[] targets = tokens(config.path("targetTokens"), fixture);
    int[] distractors = tokens(config.path("distractorTokens"), fixture);
    return switch (config.path("name").asText()) {
      case "logit_diff" -> Loss.logitDiff(targets, distractors);
      case "logit_minus_mean" -> Loss.logitMinusMean(targets);
      case "probs" -> Loss.probs(targets);
      case "zero" -> Loss.zero();
      default -> throw new IllegalArgumentException("Unknown loss " + config);
    };
  }

  private static int[] tokens(JsonNode strings, PackFixture fixture) {
    List<Integer> ids = new ArrayList<>();
    for (JsonNode s : strings) {
      int[] encoded = fixture.model().encode(s.asText());
      ids.add(encoded[0]);
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  private static TraceConfig trace(JsonNode t) {
    JsonNode node = t.path("nodeIndex");
    return new TraceConfig(
        new NodeIndex(
            NodeType.fromValue(node.path("nodeType").asText()),
            indices(node.path("tensorIndices")),
            layer(node.path("layerIndex")),
            PassType.fromValue(node.path("passType").asText())),
        PreOrPostAct.fromValue(t.path("preOrPostAct").asText()),
        t.path("detachLayerNormScale").asBoolean(),
        t.path("attentionTraceType").isNull()
            ? null
            : AttentionTraceType.fromValue(t.path("attentionTraceType").asText()),
        t.path("downstreamTraceConfig").isObject() ? trace(t.path("downstreamTraceConfig")) : null);
  }

  private static ActivationIndex activationIndex(JsonNode index) {
    return new ActivationIndex(
        ActivationLocationType.fromValue(index.path("activationLocationType").asText()),
        indices(index.path("tensorIndices")),
        layer(index.path("layerIndex")),
        PassType.fromValue(index.path("passType").asText()));
  }

  private static List<Integer> indices(JsonNode list) {
    List<Integer> out = new ArrayList<>();
    list.forEach(i -> out.add(i.isInt() ? i.asInt() : null));
    return out;
  }

  private static int layer(JsonNode layer) {
    return layer.isNull() || layer.isMissingNode()
        ? io.github.neuronexplainer.core.locations.LayerIndex.NONE
        : layer.asInt();
  }

  private static int[] ints(JsonNode list) {
    int[] out = new int[list.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = list.get(i).asInt();
    }
    return out;
  }

  /**
   * The setup's autoencoder contexts, as the harness builds them (dead latents omitted, warmed up).
   */
  private static final class Autoencoders implements AutoCloseable {
    final List<AutoencoderContext> list = new ArrayList<>();
    private final List<LazyAutoencoderContext> owned = new ArrayList<>();

    Autoencoders(Pack pack, String setup, NDManager manager) {
      for (String family : InteractiveGolden.autoencoderFamilies(setup)) {
        LazyAutoencoderContext context =
            InteractiveGolden.harnessAutoencoder(pack, family, manager);
        owned.add(context);
        list.add(context);
      }
    }

    @Override
    public void close() {
      owned.forEach(LazyAutoencoderContext::close);
    }
  }

  /** Collects every mismatch. */
  private static final class Comparison {
    private final String what;
    private final List<String> failures = new ArrayList<>();
    private double maxError;
    private int checked;
    private int sums;

    Comparison(String what) {
      this.what = what;
    }

    void scalar(String name, JsonNode expected, double actual) {
      if (expected.isNull() || expected.isMissingNode()) {
        if (!Double.isNaN(actual)) {
          failures.add(name + ": expected none, got " + actual);
        }
        return;
      }
      value(name, expected.asDouble(), actual);
    }

    void value(String name, double expected, double actual) {
      double error = Math.abs(expected - actual);
      checked++;
      if (!(error <= 1e-5 + 1e-4 * Math.abs(expected))) {
        failures.add(name + ": expected " + expected + ", got " + actual);
      } else {
        maxError = Math.max(maxError, error);
      }
    }

    /** A top-k spec (node values per group) or a derived-scalars spec (per-token values). */
    void spec(String name, JsonNode request, JsonNode response, DerivedScalarStore store) {
      if (request.has("tokenScoringType")) {
        return;
      }
      if (request.has("dstListByGroupId")) {
        JsonNode nodes = response.path("nodeIndices");
        for (Iterator<String> groups = request.path("dstListByGroupId").fieldNames();
            groups.hasNext(); ) {
          String group = groups.next();
          List<DerivedScalarType> dsts = new ArrayList<>();
          request
              .path("dstListByGroupId")
              .path(group)
              .forEach(d -> dsts.add(DerivedScalarType.fromValue(d.asText())));
          JsonNode values = response.path("activationsByGroupId").path(group);
          for (int i = 0; i < nodes.size(); i++) {
            JsonNode node = nodes.get(i);
            NodeType type = NodeType.fromValue(node.path("nodeType").asText());
            DerivedScalarType dst =
                dsts.stream().filter(d -> d.nodeType() == type).findFirst().orElse(null);
            if (dst == null || !values.get(i).isNumber()) {
              continue; // another group's node type, or a non-finite value
            }
            value(
                name + " " + group + " " + node,
                values.get(i).asDouble(),
                at(
                    store,
                    dst,
                    PassType.FORWARD,
                    layer(node.path("layerIndex")),
                    indices(node.path("tensorIndices"))));
          }
          intermediateSums(
              name + " " + group,
              request,
              dsts,
              response.path("intermediateSumActivationsByDstByGroupId").path(group),
              store);
        }
      } else {
        DerivedScalarType dst = DerivedScalarType.fromValue(request.path("dst").asText());
        PassType pass = PassType.fromValue(request.path("passType").asText("forward"));
        int index = request.path("activationIndex").asInt();
        JsonNode activations = response.path("activations");
        for (int t = 0; t < activations.size(); t++) {
          value(
              name + " token " + t,
              activations.get(t).asDouble(),
              at(store, dst, pass, layer(request.path("layerIndex")), List.of(t, index)));
        }
      }
    }

    /**
     * The group's intermediate sums (the original's {@code get_intermediate_sum_by_dst}): each DST
     * of the group summed over all dimensions but the requested ones it has, over its layers and
     * the pass types the group derived ({@link DerivedScalarStore#sum(NodeType, List, List)}).
     */
    private void intermediateSums(
        String name,
        JsonNode request,
        List<DerivedScalarType> dsts,
        JsonNode expected,
        DerivedScalarStore store) {
      List<Dimension> requested = new ArrayList<>();
      if (request.has("dimensionsToKeepForIntermediateSum")) {
        request
            .path("dimensionsToKeepForIntermediateSum")
            .forEach(d -> requested.add(Dimension.fromValue(d.asText())));
      } else {
        requested.addAll(List.of(Dimension.SEQUENCE_TOKENS, Dimension.ATTENDED_TO_SEQUENCE_TOKENS));
      }
      boolean backward = request.path("passType").asText("forward").equals("backward");
      for (DerivedScalarType dst : dsts) {
        JsonNode tensor = expected.path(dst.value());
        if (tensor.isMissingNode()) {
          failures.add(name + " " + dst + ": no intermediate sum in the golden");
          continue;
        }
        List<Dimension> keep =
            dst.shapeSpecPerTokenSequence().stream().filter(requested::contains).toList();
        SummedScalars sum =
            store
                .filter((d, p) -> d == dst && (backward || p == PassType.FORWARD))
                .sum(null, null, keep);
        List<Double> golden = new ArrayList<>();
        flatten(tensor.path("value"), golden);
        if (golden.size() != sum.values().length) {
          failures.add(
              name
                  + " "
                  + dst
                  + ": "
                  + golden.size()
                  + " golden sums, "
                  + sum.values().length
                  + " here");
          continue;
        }
        double[] values = sum.values();
        for (int i = 0; i < values.length; i++) {
          if (golden.get(i) != -999) { // the original's stand-in for non-finite values
            value(name + " sum of " + dst + " [" + i + "]", golden.get(i), values[i]);
            sums++;
          }
        }
      }
    }

    private static void flatten(JsonNode value, List<Double> out) {
      if (value.isArray()) {
        value.forEach(v -> flatten(v, out));
      } else {
        out.add(value.asDouble());
      }
    }

    private double at(
        DerivedScalarStore store,
        DerivedScalarType dst,
        PassType pass,
        int layer,
        List<Integer> indices) {
      ActivationsAndMetadata values = store.get(dst, pass);
      NDArray tensor = values.get(layer);
      StringBuilder spec = new StringBuilder();
      for (int d = 0; d < Math.min(indices.size(), tensor.getShape().dimension()); d++) {
        spec.append(d == 0 ? "" : ", ").append(indices.get(d));
      }
      return tensor
          .get(new NDIndex(spec.toString()))
          .toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
          .getDouble();
    }

    void assertNoFailures() {
      if (!failures.isEmpty()) {
        throw new AssertionError(
            what
                + ": "
                + failures.size()
                + " of "
                + (checked + failures.size())
                + " values differ:\n"
                + String.join("\n", failures.subList(0, Math.min(40, failures.size()))));
      }
      if (checked == 0) {
        throw new AssertionError(what + ": nothing compared");
      }
    }
  }
}
