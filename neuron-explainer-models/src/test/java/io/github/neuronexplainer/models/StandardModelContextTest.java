package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class StandardModelContextTest {
  private static final StandardModelContext CONTEXT =
      StandardModelContext.of("tiny", TinyModel.CHECKPOINT);

  @AfterAll
  static void close() {
    CONTEXT.close();
  }

  @Test
  void everyWeightLocationHasItsStandardShape() {
    try (NDManager m = NDManager.newBaseManager()) {
      for (WeightLocationType location : WeightLocationType.values()) {
        int layer = location.hasNoLayers() ? LayerIndex.NONE : CONTEXT.nLayers() - 1;
        NDArray w = CONTEXT.getWeight(location, layer, m);
        assertArrayEquals(
            CONTEXT.shapeFromSpec(location.shapeSpec()),
            w.getShape().getShape(),
            location.toString());
      }
    }
  }

  @Test
  void weightsFollowTheOriginalsReshapeConventions() {
    TransformerConfig c = CONTEXT.config();
    int dh = c.dHead();
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray qProj =
          CONTEXT.getOrCreateModel().parameter("xf_layers.1.attn.q_proj.weight"); // [h*dh, d]
      NDArray toQuery = CONTEXT.getWeight(WeightLocationType.ATTN_TO_QUERY, 1, m); // [h, d, dh]
      // hqr->hrq: toQuery[h, r, q] = qProj[h*dh + q, r]
      assertArrayEquals(
          qProj.get(new NDIndex("{}, :", 2 * dh + 3)).toFloatArray(),
          toQuery.get(new NDIndex("2, :, 3")).toFloatArray());
      NDArray outProj =
          CONTEXT.getOrCreateModel().parameter("xf_layers.0.attn.out_proj.weight"); // [d, h*dh]
      NDArray toResidual =
          CONTEXT.getWeight(WeightLocationType.ATTN_TO_RESIDUAL, 0, m); // [h, dh, d]
      assertArrayEquals(
          outProj.get(new NDIndex(":, {}", 1 * dh + 5)).toFloatArray(),
          toResidual.get(new NDIndex("1, 5, :")).toFloatArray());
      NDArray inLayer =
          CONTEXT.getOrCreateModel().parameter("xf_layers.0.mlp.in_layer.weight"); // [dff, d]
      assertArrayEquals(
          inLayer.get(new NDIndex("7, :")).toFloatArray(),
          CONTEXT
              .getWeight(WeightLocationType.MLP_TO_HIDDEN, 0, m)
              .get(new NDIndex(":, 7"))
              .toFloatArray());
      NDArray unembedding = CONTEXT.getWeight(WeightLocationType.UNEMBEDDING, LayerIndex.NONE, m);
      assertArrayEquals(
          CONTEXT.embedding(m).get(new NDIndex("6342, :")).toFloatArray(),
          unembedding.get(new NDIndex(":, 6342")).toFloatArray(),
          "the tiny model's unembedding is tied to its embedding");
    }
  }

  @Test
  void biasesAreTheModelsParametersInTheStandardShapes() {
    TransformerConfig c = CONTEXT.config();
    Transformer model = CONTEXT.getOrCreateModel();
    int layer = c.nLayers() - 1;
    String p = "xf_layers." + layer + ".";
    Map<WeightLocationType, String> parameters =
        Map.of(
            WeightLocationType.MLP_TO_HIDDEN_BIAS, p + "mlp.in_layer.bias",
            WeightLocationType.MLP_TO_RESIDUAL_BIAS, p + "mlp.out_layer.bias",
            WeightLocationType.ATTN_TO_QUERY_BIAS, p + "attn.q_proj.bias",
            WeightLocationType.ATTN_TO_KEY_BIAS, p + "attn.k_proj.bias",
            WeightLocationType.ATTN_TO_VALUE_BIAS, p + "attn.v_proj.bias",
            WeightLocationType.ATTN_TO_RESIDUAL_BIAS, p + "attn.out_proj.bias",
            WeightLocationType.LAYER_NORM_BIAS_PRE_ATTN, p + "ln_1.bias",
            WeightLocationType.LAYER_NORM_BIAS_PRE_MLP, p + "ln_2.bias");
    try (NDManager m = NDManager.newBaseManager()) {
      parameters.forEach(
          (location, name) ->
              assertArrayEquals(
                  model.parameter(name).toFloatArray(),
                  CONTEXT.getWeight(location, layer, m).toFloatArray(),
                  location.toString()));
      // [h·d_head] split by head: head 1, channel 2 of the query bias.
      assertEquals(
          model.parameter(p + "attn.q_proj.bias").getFloat(c.dHead() + 2),
          CONTEXT.getWeight(WeightLocationType.ATTN_TO_QUERY_BIAS, layer, m).getFloat(1, 2));
      assertArrayEquals(
          model.parameter("final_ln.bias").toFloatArray(),
          CONTEXT
              .getWeight(WeightLocationType.LAYER_NORM_BIAS_FINAL, LayerIndex.NONE, m)
              .toFloatArray());
    }
  }

  @Test
  void layerNormEpsilonAndQueryKeyScaleComeFromTheConfig() {
    TransformerConfig c = CONTEXT.config();
    assertEquals(c.layerNormEpsilon(), CONTEXT.layerNormEpsilon());
    assertEquals((float) (1 / Math.sqrt(Math.sqrt(c.dHead()))), CONTEXT.queryKeyScale());
  }

  @Test
  void normalizedWeightsHaveUnitNorm() {
    try (NDManager m = NDManager.newBaseManager()) {
      NDArray w =
          CONTEXT.getWeight(
              WeightLocationType.MLP_TO_RESIDUAL, 0, Dimension.RESIDUAL_STREAM_CHANNELS, m);
      float[] norms = w.norm(new int[] {1}).toFloatArray();
      for (float n : norms) {
        assertEquals(1f, n, 1e-5);
      }
    }
  }

  @Test
  void readingWeightsNeverCopiesOrLeaksIntoTheModel() {
    int before = CONTEXT.getOrCreateModel().ownedArrayCount();
    for (int i = 0; i < 200; i++) {
      try (NDManager m = NDManager.newBaseManager()) {
        CONTEXT.getWeight(WeightLocationType.EMBEDDING, LayerIndex.NONE, m);
        CONTEXT.unembeddingWithLayerNormGain(m);
      }
    }
    assertEquals(before, CONTEXT.getOrCreateModel().ownedArrayCount());
  }

  @Test
  void badLayersAreClearErrors() {
    try (NDManager m = NDManager.newBaseManager()) {
      IllegalArgumentException outOfRange =
          assertThrows(
              IllegalArgumentException.class,
              () -> CONTEXT.getWeight(WeightLocationType.MLP_TO_HIDDEN, 99, m));
      assertTrue(outOfRange.getMessage().contains("out of range"), outOfRange.getMessage());
      IllegalArgumentException needsLayer =
          assertThrows(
              IllegalArgumentException.class,
              () -> CONTEXT.getWeight(WeightLocationType.MLP_TO_HIDDEN, LayerIndex.NONE, m));
      assertTrue(needsLayer.getMessage().contains("needs a layer index"), needsLayer.getMessage());
      IllegalArgumentException noLayers =
          assertThrows(
              IllegalArgumentException.class,
              () -> CONTEXT.getWeight(WeightLocationType.EMBEDDING, 0, m));
      assertTrue(noLayers.getMessage().contains("has no layers"), noLayers.getMessage());
    }
  }

  @Test
  void dimensionSizesComeFromTheConfig() {
    TransformerConfig c = CONTEXT.config();
    assertEquals(c.nLayers(), CONTEXT.nLayers());
    assertEquals(c.dFf(), CONTEXT.nNeurons());
    assertEquals(c.dHead(), CONTEXT.dimensionSize(Dimension.QUERY_AND_KEY_CHANNELS));
    assertEquals(50257, CONTEXT.nVocab());
    assertThrows(
        UnsupportedOperationException.class,
        () -> CONTEXT.dimensionSize(Dimension.SEQUENCE_TOKENS));
  }
}
