package io.github.neuronexplainer.core.derived;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The store algebra of the original's {@code DerivedScalarStore} / {@code ActivationsAndMetadata}:
 * sums keeping dimensions, add / subtract / average, map, max_abs, equality.
 */
class StoreAlgebraTest {
  private static final DerivedScalarType QK = DerivedScalarType.ATTN_QK_PROBS; // [T, U, H]

  /**
   * Layer 5: 1, 3, ..., 47; layer 6: 2, 4, ..., 48 (the original's test store), shape [2, 3, 4].
   */
  private static DerivedScalarStore qkStore(NDManager manager) {
    Map<Integer, NDArray> layers = new LinkedHashMap<>();
    layers.put(5, manager.arange(1f, 48f, 2f).reshape(2, 3, 4));
    layers.put(6, manager.arange(2f, 49f, 2f).reshape(2, 3, 4));
    return DerivedScalarStore.fromList(
        List.of(new ActivationsAndMetadata(QK, PassType.FORWARD, layers)));
  }

  @Test
  void sumsKeepTheRequestedDimensionsInShapeSpecOrder() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store = qkStore(manager);
      SummedScalars all = store.sum(null, null, null);
      assertEquals(0, all.ndim());
      assertEquals(1176.0, all.scalar());
      assertEquals(1176.0, store.sum(null, null, List.of()).scalar());

      SummedScalars perToken = store.sum(null, null, List.of(Dimension.SEQUENCE_TOKENS));
      assertEquals(List.of(Dimension.SEQUENCE_TOKENS), perToken.dimensions());
      assertArrayEquals(new long[] {2}, perToken.shape());
      assertArrayEquals(new double[] {144 + 156, 432 + 444}, perToken.values());

      // Head h: layer 5 gives 12h + 126, layer 6 12h + 132.
      assertArrayEquals(
          new double[] {258, 282, 306, 330},
          store.sum(null, null, List.of(Dimension.ATTN_HEADS)).values());

      // Asked in another order, kept in the DST's order: [T, H].
      SummedScalars tokenHead =
          store.sum(null, null, List.of(Dimension.ATTN_HEADS, Dimension.SEQUENCE_TOKENS));
      assertEquals(
          List.of(Dimension.SEQUENCE_TOKENS, Dimension.ATTN_HEADS), tokenHead.dimensions());
      assertArrayEquals(new long[] {2, 4}, tokenHead.shape());
      // Token 1, head 3: layer 5 elements 15, 19, 23 (values 31, 39, 47), layer 6 32, 40, 48.
      assertEquals(31 + 39 + 47 + 32 + 40 + 48, tokenHead.get(1, 3));

      // Keeping every dimension adds the layers elementwise: (2i + 1) + (2i + 2).
      SummedScalars everything =
          store.sum(
              null,
              null,
              List.of(
                  Dimension.SEQUENCE_TOKENS,
                  Dimension.ATTENDED_TO_SEQUENCE_TOKENS,
                  Dimension.ATTN_HEADS));
      for (int i = 0; i < 24; i++) {
        assertEquals(4 * i + 3, everything.values()[i]);
      }
      // Layers are honoured and additive.
      assertArrayEquals(
          new double[] {144, 432},
          store.sum(null, List.of(5), List.of(Dimension.SEQUENCE_TOKENS)).values());
      assertEquals(0.0, store.sum(NodeType.MLP_NEURON, null, null).scalar());
      IndexOutOfBoundsException out =
          assertThrows(IndexOutOfBoundsException.class, () -> tokenHead.get(2, 0));
      assertTrue(out.getMessage().contains("[0, 2)"), out.getMessage());
    }
  }

  @Test
  void sumAbsAndNumNonzeroKeepDimensions() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store =
          DerivedScalarStore.fromList(
              List.of(
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_POST_ACT,
                      PassType.FORWARD,
                      Map.of(0, manager.create(new float[][] {{1, -2, 0}, {0, 0, -4}}))),
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_POST_ACT,
                      PassType.BACKWARD,
                      Map.of(0, manager.create(new float[][] {{-1, 0, 0}, {3, 0, 0}})))));
      List<Dimension> tokens = List.of(Dimension.SEQUENCE_TOKENS);
      List<Dimension> neurons = List.of(Dimension.MLP_ACTS);
      // Both pass types are summed, as in the original.
      assertArrayEquals(new double[] {-2, -1}, store.sum(null, null, tokens).values());
      assertArrayEquals(new double[] {4, 7}, store.sumAbs(null, null, tokens).values());
      assertArrayEquals(new double[] {5, 2, 4}, store.sumAbs(null, null, neurons).values());
      assertArrayEquals(new double[] {3, 1, 1}, store.numNonzero(null, null, neurons).values());
      assertEquals(5, store.numNonzero(null, null));
      assertEquals(11.0, store.sumAbs(null, null));
    }
  }

  @Test
  void sumsRefuseDimensionsTheDstsDoNotShare() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore qk = qkStore(manager);
      IllegalArgumentException notInSpec =
          assertThrows(
              IllegalArgumentException.class,
              () -> qk.sum(null, null, List.of(Dimension.MLP_ACTS)));
      assertTrue(notInSpec.getMessage().contains("ATTN_HEADS"), notInSpec.getMessage());
      assertThrows(
          IllegalArgumentException.class,
          () -> qk.sum(null, null, List.of(Dimension.ATTN_HEADS, Dimension.ATTN_HEADS)));
      DerivedScalarStore mixed =
          DerivedScalarStore.fromList(
              List.of(
                  qk.get(QK, PassType.FORWARD),
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_POST_ACT,
                      PassType.FORWARD,
                      Map.of(0, manager.ones(new ai.djl.ndarray.types.Shape(2, 3))))));
      IllegalArgumentException different =
          assertThrows(
              IllegalArgumentException.class,
              () -> mixed.sum(null, null, List.of(Dimension.SEQUENCE_TOKENS)));
      assertTrue(different.getMessage().contains("filterDsts"), different.getMessage());
      // Per node type it works: only the MLP DST is left.
      assertArrayEquals(
          new double[] {3, 3},
          mixed.sum(NodeType.MLP_NEURON, null, List.of(Dimension.SEQUENCE_TOKENS)).values());
      assertThrows(
          IllegalArgumentException.class,
          () -> mixed.sum(NodeType.AUTOENCODER_LATENT, null, List.of(Dimension.SEQUENCE_TOKENS)));
    }
  }

  @Test
  void addSubtractAverageAndMapOwnTheirResults() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore a = qkStore(manager);
      DerivedScalarStore b = a.map(x -> x.mul(10), manager);
      DerivedScalarIndex at = new DerivedScalarIndex(QK, List.of(1, 2, 3), 6, PassType.FORWARD);
      assertArrayEquals(new float[] {480}, b.get(at));
      try (DerivedScalarStore sum = a.add(b, manager);
          DerivedScalarStore difference = b.subtract(a, manager);
          DerivedScalarStore mean = a.average(List.of(b, b), manager);
          DerivedScalarStore identity = a.map(x -> x, manager)) {
        assertArrayEquals(new float[] {528}, sum.get(at));
        assertArrayEquals(new float[] {432}, difference.get(at));
        assertArrayEquals(new float[] {336}, mean.get(at));
        assertEquals(1176.0 * 11, sum.sum(null, null), 1e-6);
        assertTrue(identity.contentEquals(a));
      }
      // Closing the results freed none of the inputs.
      assertArrayEquals(new float[] {48}, a.get(at));
      assertArrayEquals(new float[] {480}, b.get(at));
      b.close();
      DerivedScalarStore other = a.filterLayers(List.of(5));
      IllegalArgumentException layers =
          assertThrows(IllegalArgumentException.class, () -> a.add(other, manager));
      assertTrue(layers.getMessage().contains("filterLayers"), layers.getMessage());
      DerivedScalarStore none = a.filterDsts(List.of(DerivedScalarType.MLP_POST_ACT));
      assertThrows(IllegalArgumentException.class, () -> a.subtract(none, manager));
    }
  }

  @Test
  void maxAbsReturnsTheLargestMagnitudeAndItsIndex() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store =
          DerivedScalarStore.fromList(
              List.of(
                  new ActivationsAndMetadata(
                      DerivedScalarType.MLP_POST_ACT,
                      PassType.FORWARD,
                      Map.of(
                          0,
                          manager.create(new float[][] {{1, -2}, {3, 0}}),
                          1,
                          manager.create(new float[][] {{0, -7}, {5, 6}}))),
                  new ActivationsAndMetadata(
                      DerivedScalarType.ATTN_QK_PROBS,
                      PassType.FORWARD,
                      Map.of(0, manager.create(new float[] {-9, 8}).reshape(1, 1, 2)))));
      ActivationsAndMetadata.TopK all = store.maxAbs(null, null);
      assertArrayEquals(new float[] {9}, all.values());
      assertEquals(
          new DerivedScalarIndex(
              DerivedScalarType.ATTN_QK_PROBS, List.of(0, 0, 0), 0, PassType.FORWARD),
          all.indices().get(0));
      ActivationsAndMetadata.TopK mlp = store.maxAbs(NodeType.MLP_NEURON, null);
      assertArrayEquals(new float[] {7}, mlp.values());
      assertEquals(
          new DerivedScalarIndex(
              DerivedScalarType.MLP_POST_ACT, List.of(0, 1), 1, PassType.FORWARD),
          mlp.indices().get(0));
      assertArrayEquals(new float[] {8}, store.max(null, null).values());
      assertArrayEquals(
          new float[] {6},
          store.get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD).max().values());
      IllegalArgumentException empty =
          assertThrows(
              IllegalArgumentException.class,
              () -> store.maxAbs(NodeType.AUTOENCODER_LATENT, null));
      assertTrue(empty.getMessage().contains("AUTOENCODER_LATENT"), empty.getMessage());
    }
  }

  @Test
  void equalityIsExactOrWithinTolerance() {
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore a = qkStore(manager);
      try (DerivedScalarStore nudged = a.map(x -> x.mul(1 + 3e-6f), manager);
          DerivedScalarStore far = a.map(x -> x.add(0.01f), manager)) {
        assertTrue(a.contentEquals(a));
        assertFalse(a.contentEquals(nudged));
        assertTrue(a.allClose(nudged, 1e-5, 1e-8));
        assertFalse(a.allClose(nudged, 1e-7, 0));
        assertFalse(a.allClose(far, 1e-5, 1e-8));
        assertTrue(a.allClose(far, 0, 0.011));
        ActivationsAndMetadata am = a.get(QK, PassType.FORWARD);
        // The original's __eq__ ignores the label.
        assertTrue(am.allClose(am.relabel(DerivedScalarType.MLP_POST_ACT, PassType.BACKWARD)));
        assertFalse(am.allClose(am.filterLayers(List.of(5))));
        assertFalse(a.contentEquals(a.filterLayers(List.of(6))));
      }
      NDArray nan = manager.create(new float[] {Float.NaN}).reshape(1, 1, 1);
      ActivationsAndMetadata withNan =
          new ActivationsAndMetadata(QK, PassType.FORWARD, Map.of(0, nan));
      assertFalse(withNan.contentEquals(withNan));
      assertFalse(withNan.allClose(withNan));
      ActivationsAndMetadata reshaped =
          new ActivationsAndMetadata(
              QK,
              PassType.FORWARD,
              Map.of(0, manager.zeros(new ai.djl.ndarray.types.Shape(1, 1, 2))));
      ActivationsAndMetadata other =
          new ActivationsAndMetadata(
              QK,
              PassType.FORWARD,
              Map.of(0, manager.zeros(new ai.djl.ndarray.types.Shape(1, 2, 1))));
      assertFalse(reshaped.contentEquals(other));
      assertArrayEquals(new long[] {1, 1, 2}, reshaped.shape());
    }
  }
}
