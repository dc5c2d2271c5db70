package io.github.neuronexplainer.debugger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.api.AblationSpec;
import io.github.neuronexplainer.debugger.api.GroupId;
import io.github.neuronexplainer.debugger.api.InferenceSubRequest;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.NodeAblation;
import io.github.neuronexplainer.debugger.api.NodeToTrace;
import io.github.neuronexplainer.debugger.api.TdbRequestSpec;
import io.github.neuronexplainer.debugger.json.DebuggerJson;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class TdbConversionsTest {
  private final TdbRequestSpec tdb =
      TdbRequestSpec.builder("The capital of France is")
          .target(" Paris")
          .distractor(" London")
          .build();

  @Test
  void aPlainRequestKeepsTheLossAndDetachesTheFinalLayerNormScale() {
    InferenceSubRequest sub = TdbConversions.toInferenceSubRequest(tdb);
    assertEquals(List.of(" Paris"), sub.inferenceRequestSpec().lossFnConfig().targetTokens());
    AblationSpec last = sub.inferenceRequestSpec().ablationSpecs().get(0);
    assertEquals(
        ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE, last.index().activationLocationType());
    assertEquals(PassType.BACKWARD, last.index().passType());
    assertEquals(Arrays.asList(null, null), last.index().tensorIndices());
    assertEquals(
        List.of(
            "topKComponents",
            "componentSumsForTokenDisplay",
            "upvotedOutputTokens",
            "inputTokensThatUpvoteMlp",
            "inputTokensThatUpvoteAttnQ",
            "inputTokensThatUpvoteAttnK",
            "tokenPairAttribution",
            "topOutputTokenLogits"),
        List.copyOf(sub.processingRequestSpecByName().keySet()));
    var logits =
        (MultipleTopKDerivedScalarsRequestSpec)
            sub.processingRequestSpecByName().get("topOutputTokenLogits");
    assertEquals(-1, logits.tokenIndex());
    assertEquals(100, logits.topAndBottomK());
    var table =
        (MultipleTopKDerivedScalarsRequestSpec)
            sub.processingRequestSpecByName().get("topKComponents");
    assertEquals(
        List.of(
            DerivedScalarType.TOKEN_ATTRIBUTION,
            DerivedScalarType.MLP_ACT_TIMES_GRAD,
            DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD),
        table.dstListByGroupId().get(GroupId.ACT_TIMES_GRAD));
  }

  @Test
  void aTraceDropsTheLossExceptThroughVAndSetsTheToken() {
    NodeIndex head = new NodeIndex(NodeType.ATTENTION_HEAD, List.of(3, 1, 2), 1, PassType.FORWARD);
    TdbRequestSpec traced =
        TdbRequestSpec.builder("a b c d")
            .target(" x")
            .distractor(" y")
            .upstreamNodeToTrace(NodeToTrace.of(head, AttentionTraceType.K))
            .build();
    InferenceSubRequest sub = TdbConversions.toInferenceSubRequest(traced);
    assertNull(sub.inferenceRequestSpec().lossFnConfig());
    assertEquals(
        3,
        ((MultipleTopKDerivedScalarsRequestSpec)
                sub.processingRequestSpecByName().get("topOutputTokenLogits"))
            .tokenIndex());
    TdbRequestSpec throughV =
        TdbRequestSpec.builder("a b c d")
            .target(" x")
            .distractor(" y")
            .upstreamNodeToTrace(NodeToTrace.of(head, AttentionTraceType.V))
            .build();
    assertEquals(
        List.of(" x"),
        TdbConversions.toInferenceSubRequest(throughV)
            .inferenceRequestSpec()
            .lossFnConfig()
            .targetTokens());
  }

  @Test
  void aHeadAblationZeroesTheWholeAttentionRow() {
    AblationSpec spec =
        TdbConversions.toAblationSpec(
            new NodeAblation(
                new NodeIndex(NodeType.ATTENTION_HEAD, List.of(4, 2, 3), 0, PassType.FORWARD), 0));
    assertEquals(ActivationLocationType.ATTN_QK_PROBS, spec.index().activationLocationType());
    assertEquals(Arrays.asList(4, null, 3), spec.index().tensorIndices());
    DebuggerException e =
        assertThrows(
            DebuggerException.class,
            () ->
                TdbConversions.toAblationSpec(
                    new NodeAblation(
                        new NodeIndex(NodeType.LAYER, List.of(0, 0), -1, PassType.FORWARD), 0)));
    assertEquals(DebuggerException.Kind.UNSUPPORTED, e.kind());
  }

  @Test
  void jsonRoundTripsWithTheOriginalsNames() {
    DebuggerJson json = DebuggerJson.lenient();
    String written = json.write(tdb);
    assertEquals(tdb, json.read(written, TdbRequestSpec.class));
    assertEquals("tdb_request_spec", json.toTree(tdb).path("specType").asText());
    assertEquals("neuron", json.toTree(tdb).path("componentTypeForMlp").asText());
  }
}
