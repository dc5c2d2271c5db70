package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.model.StubModelContext;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Every index a user passes to the derived-scalar API is checked, naming the valid range. */
class BadIndexTest {
  private static final DerivedScalarType MLP = DerivedScalarType.MLP_POST_ACT;

  private static void refused(Executable call, String... expected) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    for (String part : expected) {
      assertTrue(e.getMessage().contains(part), "'" + part + "' missing from: " + e.getMessage());
    }
  }

  /** MLP_POST_ACT at layers 1 and 3, 2 tokens × 3 neurons. */
  private static DerivedScalarStore store(NDManager manager) {
    return DerivedScalarStore.fromList(
        List.of(
            new ActivationsAndMetadata(
                MLP,
                PassType.FORWARD,
                Map.of(
                    1, manager.create(new float[][] {{1, 2, 3}, {4, 5, 6}}),
                    3, manager.create(new float[][] {{7, 8, 9}, {10, 11, 12}})))));
  }

  @Test
  void storeLookupsNameTheValidRange() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store = store(manager);
      assertArrayEquals(
          new float[] {12},
          store.get(new DerivedScalarIndex(MLP, List.of(1, 2), 3, PassType.FORWARD)));
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(2, 0), 3, PassType.FORWARD)),
          "sequence_tokens index 2",
          "valid -2..1");
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(0, 3), 1, PassType.FORWARD)),
          "mlp_acts index 3",
          "valid -3..2");
      // as in torch, a negative index counts from the end
      assertArrayEquals(
          new float[] {4},
          store.get(new DerivedScalarIndex(MLP, List.of(-1, 0), 1, PassType.FORWARD)));
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(-3, 0), 1, PassType.FORWARD)),
          "index -3",
          "valid -2..1");
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(0, 0, 0), 1, PassType.FORWARD)),
          "3 tensor indices",
          "2 dimensions");
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(0, 0), 2, PassType.FORWARD)),
          "no layer 2",
          "[1, 3]");
      refused(
          () -> store.get(new DerivedScalarIndex(MLP, List.of(0, 0), 1, PassType.BACKWARD)),
          "no MLP_POST_ACT/backward");
      refused(
          () ->
              store.getScalars(
                  List.of(
                      new DerivedScalarIndex(MLP, Arrays.asList(0, null), 1, PassType.FORWARD))),
          "does not name a single scalar");
      refused(
          () ->
              store.getScalars(
                  List.of(new DerivedScalarIndex(MLP, List.of(1, 5), 1, PassType.FORWARD))),
          "valid -3..2");
    }
  }

  @Test
  void nodeIndicesAreCheckedAgainstTheStore() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store = store(manager);
      NodeIndex good = new NodeIndex(NodeType.MLP_NEURON, List.of(1, 0), 1, PassType.FORWARD);
      assertEquals(
          List.of(new DerivedScalarIndex(MLP, List.of(1, 0), 1, PassType.FORWARD)),
          store.dsIndicesForNodeIndices(List.of(good)));
      assertArrayEquals(new float[] {4}, store.derivedScalarsForNodeIndices(List.of(good)));
      refused(
          () ->
              store.dsIndicesForNodeIndices(
                  List.of(new NodeIndex(NodeType.MLP_NEURON, List.of(0, 7), 1, PassType.FORWARD))),
          "mlp_acts index 7",
          "valid -3..2");
      refused(
          () ->
              store.dsIndicesForNodeIndices(
                  List.of(new NodeIndex(NodeType.MLP_NEURON, List.of(0, 0), 0, PassType.FORWARD))),
          "no layer 0",
          "[1, 3]");
      refused(
          () ->
              store.dsIndicesForNodeIndices(
                  List.of(
                      new NodeIndex(
                          NodeType.ATTENTION_HEAD, List.of(0, 0, 0), 1, PassType.FORWARD))),
          "exactly one DST of node type ATTENTION_HEAD");
    }
  }

  @Test
  void topkRefusesANegativeK() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store = store(manager);
      refused(
          () -> store.get(MLP, PassType.FORWARD).topk(-1, true), "k must be >= 0", "12 scalars");
      refused(() -> store.topkLikeOriginal(-2), "k must be >= 0");
      refused(() -> store.topk(-1, PassType.FORWARD, null, null, true), "k must be >= 0");
      // k larger than the store returns everything, as in the original.
      assertEquals(12, store.get(MLP, PassType.FORWARD).topk(100, true).values().length);
      assertEquals(0, store.get(MLP, PassType.FORWARD).topk(0, true).values().length);
    }
  }

  @Test
  void dstConfigChecksLayersAndNodesAgainstTheModel() {
    StubModelContext model =
        new StubModelContext(
            Map.of(
                Dimension.LAYERS, 2,
                Dimension.MLP_ACTS, 8,
                Dimension.ATTN_HEADS, 4,
                Dimension.RESIDUAL_STREAM_CHANNELS, 6,
                Dimension.MAX_CONTEXT_LENGTH, 16));
    DstConfig.Builder base = DstConfig.builder().modelContext(model);
    assertEquals(List.of(0, 1), base.layerIndices(List.of(0, 1)).build().layerIndices());
    refused(
        () -> base.layerIndices(List.of(0, 2)).build(), "layerIndices", "layer 2", "layers 0..1");
    refused(() -> base.layerIndices(List.of(-1)).build(), "layer -1", "layers 0..1");
    DstConfig.Builder noLayers = DstConfig.builder().modelContext(model);
    refused(
        () -> noLayers.traceConfig(mlpTrace(List.of(3, 8), 1)).build(),
        "traceConfig",
        "neuron index 8",
        "valid 0..7");
    refused(
        () -> noLayers.traceConfig(mlpTrace(List.of(16, 0), 1)).build(),
        "token index 16",
        "valid 0..15");
    refused(() -> noLayers.traceConfig(mlpTrace(List.of(0, 0), 5)).build(), "layer 5");
    DstConfig.Builder attribution = DstConfig.builder().modelContext(model);
    refused(
        () ->
            attribution
                .nodeIndexForAttribution(
                    new NodeIndex(NodeType.ATTENTION_HEAD, List.of(2, 1, 4), 0, PassType.FORWARD))
                .build(),
        "nodeIndexForAttribution",
        "head index 4",
        "valid 0..3");
    refused(
        () ->
            attribution
                .nodeIndexForAttribution(
                    new NodeIndex(
                        NodeType.RESIDUAL_STREAM_CHANNEL, List.of(2, 6), 0, PassType.FORWARD))
                .build(),
        "residual channel index 6",
        "valid 0..5");
    refused(
        () ->
            DstConfig.builder()
                .modelContext(model)
                .nodeIndexForAttentionWrite(
                    new NodeIndex(NodeType.ATTENTION_HEAD, List.of(1, 17, 0), 1, PassType.FORWARD))
                .build(),
        "attended-to token index 17",
        "valid 0..15");
    refused(
        () ->
            DstConfig.builder()
                .modelContext(model)
                .activationIndexForFakeGrad(
                    new ActivationIndex(
                        ActivationLocationType.MLP_POST_ACT, List.of(0, 0), 9, PassType.BACKWARD))
                .build(),
        "activationIndexForFakeGrad",
        "layer 9");
    // Without a model context nothing can be checked; the runner checks against the model then.
    assertEquals(List.of(7), DstConfig.builder().layerIndices(List.of(7)).build().layerIndices());
  }

  private static TraceConfig mlpTrace(List<Integer> indices, int layer) {
    return new TraceConfig(
        new NodeIndex(NodeType.MLP_NEURON, indices, layer, PassType.FORWARD),
        PreOrPostAct.POST,
        true,
        null,
        null);
  }
}
