package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Unit tests of the engine's types and stores (ports of the original's offline tests). */
class EngineUnitTest {

  @Test
  void allDerivedScalarTypesHaveTheOriginalsValuesAndProperties() {
    assertEquals(106, DerivedScalarType.values().length);
    for (DerivedScalarType dst : DerivedScalarType.values()) {
      assertEquals(dst.name().toLowerCase(java.util.Locale.ROOT), dst.value());
      assertEquals(dst, DerivedScalarType.fromValue(dst.value()));
      assertFalse(dst.shapeSpecPerTokenSequence().isEmpty(), dst + " shape spec");
      dst.nodeType(); // defined for every DST
      if (dst.isRawActivationType()) {
        assertEquals(
            dst.toActivationLocationType().shapeSpecPerTokenSequence(),
            dst.shapeSpecPerTokenSequence(),
            dst + " shape equals its activation's");
      }
    }
    assertEquals(
        17,
        Arrays.stream(DerivedScalarType.values())
            .filter(DerivedScalarType::isRawActivationType)
            .count());
    assertEquals(
        18,
        Arrays.stream(DerivedScalarType.values())
            .filter(DerivedScalarType::isAutoencoderLatent)
            .count());
    assertEquals(
        33,
        Arrays.stream(DerivedScalarType.values())
            .filter(DerivedScalarType::requiresGradForForwardPass)
            .count());
    // Quirk Q9: the generic online write is not an autoencoder-latent DST.
    assertEquals(
        NodeType.RESIDUAL_STREAM_CHANNEL, DerivedScalarType.ONLINE_AUTOENCODER_WRITE.nodeType());
    assertEquals(
        NodeType.MLP_AUTOENCODER_LATENT, DerivedScalarType.ONLINE_MLP_AUTOENCODER_WRITE.nodeType());
    assertEquals(
        NodeType.ATTENTION_AUTOENCODER_LATENT,
        DerivedScalarType.ATTENTION_AUTOENCODER_WRITE_NORM.nodeType());
    assertEquals(NodeType.LAYER, DerivedScalarType.TOKEN_ATTRIBUTION.nodeType());
    assertEquals(NodeType.V_CHANNEL, DerivedScalarType.ATTN_WEIGHTED_VALUE.nodeType());
    assertTrue(DerivedScalarType.ATTN_ACT_TIMES_GRAD.requiresGradForPassType(PassType.FORWARD));
    assertTrue(DerivedScalarType.MLP_POST_ACT.requiresGradForPassType(PassType.BACKWARD));
    assertFalse(DerivedScalarType.MLP_POST_ACT.requiresGradForPassType(PassType.FORWARD));
    // Quirk Q8: the original's flag omits three pair-indexed DSTs; ours does not.
    assertFalse(
        DerivedScalarType.ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD.sequenceDimIsSequenceTokenPairs());
    assertTrue(DerivedScalarType.ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD.isIndexedByTokenPairs());
    assertEquals(
        DerivedScalarType.ONLINE_ATTENTION_AUTOENCODER_ACT_TIMES_GRAD,
        DerivedScalarType.ONLINE_AUTOENCODER_ACT_TIMES_GRAD.updateFromAutoencoderNodeType(
            NodeType.ATTENTION_AUTOENCODER_LATENT));
    assertEquals(
        DerivedScalarType.MLP_AUTOENCODER_WRITE_NORM,
        DerivedScalarType.AUTOENCODER_WRITE_NORM.updateFromAutoencoderNodeType(
            NodeType.MLP_AUTOENCODER_LATENT));
    assertEquals(
        ActivationLocationType.RESID_DELTA_MLP,
        DerivedScalarType.RESID_DELTA_MLP_FROM_MLP_POST_ACT.toActivationLocationType());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            DerivedScalarType.fromActivationLocationType(
                ActivationLocationType.RESID_POST_MLP_LAYER_NORM));
  }

  @Test
  void flattenedLowerTriangleUsesTrilOrder() {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray x = manager.arange(1f, 17f).reshape(4, 4, 1);
      assertArrayEquals(
          new float[] {1, 5, 6, 9, 10, 11, 13, 14, 15, 16},
          DerivedScalarKernels.flattenLowerTriangle(x).toFloatArray());
      // Non-square: rows t >= U keep U entries.
      NDArray rect = manager.arange(1f, 7f).reshape(3, 2);
      assertArrayEquals(
          new float[] {1, 3, 4, 5, 6},
          DerivedScalarKernels.flattenLowerTriangle(rect).toFloatArray());
    }
  }

  /** The original's test_derived_scalar_store / test_multi_layer_ds_store. */
  @Test
  void derivedScalarStoreSumsIndexesAndRanksLikeTheOriginal() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarType dst = DerivedScalarType.ATTN_QK_PROBS;
      Map<Integer, NDArray> layers = new LinkedHashMap<>();
      layers.put(5, manager.arange(1f, 48f, 2f).reshape(2, 3, 4));
      layers.put(6, manager.arange(2f, 49f, 2f).reshape(2, 3, 4));
      DerivedScalarStore store =
          DerivedScalarStore.fromList(
              List.of(new ActivationsAndMetadata(dst, PassType.FORWARD, layers)));
      assertEquals(1176.0, store.sum(null, null));
      assertEquals(
          manager.arange(1f, 48f, 2f).reshape(2, 3, 4).get(0).toFloatArray().length,
          store.get(new DerivedScalarIndex(dst, Arrays.asList(0, null, null), 5, PassType.FORWARD))
              .length);
      assertArrayEquals(
          new float[] {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23},
          store.get(
              new DerivedScalarIndex(dst, Arrays.asList(0, null, null), 5, PassType.FORWARD)));
      ActivationsAndMetadata.TopK top = store.topkLikeOriginal(2);
      assertArrayEquals(new float[] {48, 47}, top.values());
      assertEquals(
          List.of(
              new DerivedScalarIndex(dst, List.of(1, 2, 3), 6, PassType.FORWARD),
              new DerivedScalarIndex(dst, List.of(1, 2, 3), 5, PassType.FORWARD)),
          top.indices());
      assertArrayEquals(new float[] {48}, store.max(null, null).values());
      assertArrayEquals(
          new float[] {47, 45}, store.filterLayers(List.of(5)).topkLikeOriginal(2).values());
      assertArrayEquals(
          new float[] {48, 46}, store.filterLayers(List.of(6)).topkLikeOriginal(2).values());
      assertEquals(
          store.filterLayers(List.of(6)).topkLikeOriginal(2).indices().get(0),
          store.topkLikeOriginal(2).indices().get(0));
      // Quirk Q4: the faithful topk ignores its layer filter; the fixed one honours it.
      assertArrayEquals(
          new float[] {48, 47},
          store.topkLikeOriginal(2, PassType.FORWARD, null, List.of(5), true).values());
      assertArrayEquals(
          new float[] {47, 45}, store.topk(2, PassType.FORWARD, null, List.of(5), true).values());
      // Faithful bottom-k is sorted descending; the fixed one ascending.
      assertArrayEquals(
          new float[] {2, 1},
          store.topkLikeOriginal(2, PassType.FORWARD, null, null, false).values());
      assertArrayEquals(
          new float[] {1, 2}, store.topk(2, PassType.FORWARD, null, null, false).values());
      // With two DSTs the faithful version returns k per DST; topk(k) returns k.
      DerivedScalarStore two =
          DerivedScalarStore.fromList(
              List.of(
                  new ActivationsAndMetadata(dst, PassType.FORWARD, layers),
                  new ActivationsAndMetadata(
                      DerivedScalarType.ATTN_QK_LOGITS,
                      PassType.FORWARD,
                      Map.of(5, manager.arange(0f, 24f).reshape(2, 3, 4)))));
      assertEquals(4, two.topkLikeOriginal(2).values().length);
      assertArrayEquals(new float[] {48, 47}, two.topk(2).values());
      // Top-k results compare by value and print their entries.
      assertEquals(store.topk(2), two.topk(2));
      assertEquals(store.topk(2).hashCode(), two.topk(2).hashCode());
      assertNotEquals(store.topk(2), store.topk(3));
      assertTrue(
          store.topk(1).toString().contains("+48.0000  " + dst + " layer 6 forward [1, 2, 3]"),
          store.topk(1).toString());
      // Additivity over layers (test_create_ds_store).
      assertEquals(
          store.sum(null, List.of(5, 6)),
          store.sum(null, List.of(5)) + store.sum(null, List.of(6)));
      assertEquals(48, store.numNonzero(null, null));
      layers.values().forEach(NDArray::close);
    }
  }

  @Test
  void topkCountsPerDstAndMergesDescending() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store =
          DerivedScalarStore.fromList(
              List.of(
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_POST_ACT,
                      PassType.FORWARD,
                      Map.of(0, manager.create(new float[][] {{1, 5, 3}, {2, 9, 4}}))),
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_ACT_TIMES_GRAD,
                      PassType.FORWARD,
                      Map.of(0, manager.create(new float[][] {{-1, 7, 0}, {8, 6, 0.5f}})))));
      ActivationsAndMetadata.TopK top = store.topkLikeOriginal(3);
      assertArrayEquals(new float[] {9, 8, 7, 6, 5, 4}, top.values());
      assertEquals(DerivedScalarType.MLP_POST_ACT, top.indices().get(0).dst());
      assertEquals(List.of(1, 1), top.indices().get(0).tensorIndices());
      assertArrayEquals(
          new float[] {3, 2, 1, 0.5f, 0, -1},
          store.topkLikeOriginal(3, PassType.FORWARD, null, null, false).values());
    }
  }

  @Test
  void indexTypesHaveValueSemanticsAndMirroredForms() {
    NodeIndex node = new NodeIndex(NodeType.ATTENTION_HEAD, List.of(4, 1, 0), 1, PassType.FORWARD);
    AttnSubNodeIndex sub = node.toSubnodeIndex(ActivationLocationType.ATTN_VALUE);
    assertNotEquals(node, sub);
    assertEquals(node, node.toMirrored().toNodeIndex());
    assertEquals(0, node.ndim());
    assertEquals(
        2,
        new NodeIndex(NodeType.ATTENTION_HEAD, Arrays.asList(4, null, null), 1, PassType.FORWARD)
            .ndim());
    DerivedScalarIndex dsi =
        DerivedScalarIndex.fromNodeIndex(node, DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD);
    assertEquals(dsi, dsi.toMirrored().toDerivedScalarIndex());
    assertEquals(node, NodeIndex.fromDsIndex(dsi));
    assertThrows(
        IllegalArgumentException.class,
        () -> DerivedScalarIndex.fromNodeIndex(node, DerivedScalarType.MLP_ACT_TIMES_GRAD));
    assertEquals(
        Map.of(
            Dimension.SEQUENCE_TOKENS, 4,
            Dimension.ATTENDED_TO_SEQUENCE_TOKENS, 1,
            Dimension.ATTN_HEADS, 0),
        dsi.tensorIndexByDimension());
    ActivationIndex activation =
        new ActivationIndex(
            ActivationLocationType.MLP_POST_ACT, Arrays.asList(null, 3), 0, PassType.FORWARD);
    assertEquals(List.of("All", 3), activation.toMirrored().tensorIndices());
    assertEquals(activation, activation.toMirrored().toActivationIndex());
    TraceConfig trace =
        TraceConfig.fromActivationIndex(
            new ActivationIndex(
                ActivationLocationType.ATTN_QK_LOGITS, List.of(4, 1, 0), 1, PassType.FORWARD));
    assertEquals(PreOrPostAct.PRE, trace.preOrPostAct());
    assertTrue(trace.detachLayerNormScale());
    assertEquals(trace, trace.toMirrored().toTraceConfig());
    // Quirk Q22 (faithful): specific online latents cannot start a trace.
    assertThrows(
        IllegalArgumentException.class,
        () ->
            TraceConfig.fromActivationIndex(
                new ActivationIndex(
                    ActivationLocationType.ONLINE_MLP_AUTOENCODER_LATENT,
                    List.of(0, 1),
                    0,
                    PassType.FORWARD)));
  }

  @Test
  void layerIndexersMapDestinationsToSources() {
    List<Integer> layers = List.of(0, 1, 2);
    assertEquals(layers, LayerIndexer.IDENTITY.sourceLayers(layers));
    assertEquals(
        List.of(LayerIndexer.DUMMY, 0, 1), new LayerIndexer.Offset(-1).sourceLayers(layers));
    assertEquals(List.of(2, 2, 2), new LayerIndexer.Constant(2).sourceLayers(layers));
    assertEquals(
        List.of(LayerIndex.NONE, LayerIndex.NONE, LayerIndex.NONE),
        LayerIndexer.NO_LAYERS.sourceLayers(layers));
    try (NDManager manager = NDManager.newBaseManager()) {
      // Missing layers read as zeros shaped like a present one; the input map is not mutated.
      ActivationsAndMetadata grads =
          new ActivationsAndMetadata(
              DerivedScalarType.MLP_POST_ACT,
              PassType.BACKWARD,
              Map.of(0, manager.ones(new Shape(2, 3))));
      ActivationsAndMetadata indexed =
          grads.applyLayerIndexer(LayerIndexer.IDENTITY, layers, manager);
      assertEquals(List.of(0, 1, 2), indexed.layerIndices());
      assertEquals(0f, indexed.get(2).sum().getFloat());
      assertEquals(new Shape(2, 3), indexed.get(2).getShape());
      assertEquals(List.of(0), grads.layerIndices());
    }
  }

  @Test
  void configRefusesAmbiguousAutoencoders() {
    DstConfig config = DstConfig.builder().build();
    assertEquals(null, config.autoencoderContext(NodeType.MLP_AUTOENCODER_LATENT));
    UnsupportedDerivationException e =
        assertThrows(
            UnsupportedDerivationException.class,
            () ->
                ScalarDerivers.makeScalarDeriver(
                    DerivedScalarType.ONLINE_MLP_AUTOENCODER_LATENT, config));
    assertTrue(e.getMessage().contains("autoencoder of node type MLP_AUTOENCODER_LATENT"));
    assertThrows(
        UnsupportedDerivationException.class,
        () -> ScalarDerivers.makeScalarDeriver(DerivedScalarType.MLP_WRITE_NORM, config),
        "weights are needed");
    assertThrows(
        UnsupportedDerivationException.class,
        () ->
            ScalarDerivers.makeScalarDeriver(
                DerivedScalarType.MLP_ACT_TIMES_GRAD,
                DstConfig.builder().deriveGradients(true).build()));
  }
}
