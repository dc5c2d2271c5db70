package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The autoencoder's arithmetic on small hand-checked examples. */
class AutoencoderTest {
  private static final NDManager M = NDManager.newBaseManager();

  @AfterAll
  static void close() {
    M.close();
  }

  /** 2 inputs, 3 latents: encoder rows (1,0), (0,1), (1,1); decoder = encoderᵀ. */
  private static Autoencoder small(LatentActivation activation) {
    NDArray preBias = M.create(new float[] {1, -1});
    NDArray encoder = M.create(new float[] {1, 0, 0, 1, 1, 1}, new Shape(3, 2));
    NDArray latentBias = M.create(new float[] {0, 0.5f, -10});
    NDArray decoder = M.create(new float[] {1, 0, 1, 0, 1, 1}, new Shape(2, 3));
    return Autoencoder.of(preBias, encoder, latentBias, decoder, activation, M);
  }

  @Test
  void encodeAndDecodeFollowTheOriginalFormulas() {
    try (Autoencoder ae = small(LatentActivation.RELU);
        NDManager m = M.newSubManager()) {
      NDArray x = m.create(new float[] {3, 1, 0, 0}, new Shape(2, 2));
      // x − pre_bias = (2, 2), (−1, 1); pre-acts = (2, 2.5, −6), (−1, 1.5, −10)
      assertArrayEquals(
          new float[] {2, 2.5f, -6, -1, 1.5f, -10}, ae.encodePreActivation(x).toFloatArray());
      NDArray z = ae.encode(x);
      assertArrayEquals(new float[] {2, 2.5f, 0, 0, 1.5f, 0}, z.toFloatArray());
      // decoder(z) + pre_bias: (2 + 0 + 1, 0 + 2.5 − 1), (0 + 1, 1.5 − 1)
      assertArrayEquals(new float[] {3, 1.5f, 1, 0.5f}, ae.decode(z).toFloatArray());
      assertEquals(3, ae.nLatents());
      assertEquals(2, ae.nInputs());
      // batch dimensions are kept: [1, 2, 2] → [1, 2, 3]
      assertEquals(new Shape(1, 2, 3), ae.encode(x.reshape(1, 2, 2)).getShape());
    }
  }

  @Test
  void latentSliceComputesOnlyThoseLatents() {
    try (Autoencoder ae = small(LatentActivation.RELU);
        NDManager m = M.newSubManager()) {
      NDArray x = m.create(new float[] {3, 1, 0, 0}, new Shape(2, 2));
      assertArrayEquals(
          new float[] {2.5f, -6, 1.5f, -10}, ae.encodePreActivation(x, 1, 3).toFloatArray());
      assertThrows(IllegalArgumentException.class, () -> ae.encodePreActivation(x, 2, 4));
    }
  }

  @Test
  void identityKeepsNegativePreActivations() {
    try (Autoencoder ae = small(LatentActivation.IDENTITY);
        NDManager m = M.newSubManager()) {
      NDArray x = m.create(new float[] {0, 0}, new Shape(1, 2));
      assertArrayEquals(new float[] {-1, 1.5f, -10}, ae.encode(x).toFloatArray());
    }
  }

  @Test
  void topKKeepsTheKLargestPreActivationsThenAppliesThePostActivation() {
    try (NDManager m = M.newSubManager()) {
      NDArray pre = m.create(new float[] {0.5f, -3, 2, -1, 1, -2, -0.5f, -4}, new Shape(2, 4));
      // row 0: two largest 2 (idx 2), 0.5 (idx 0); row 1: 1 (idx 0), −0.5 (idx 2)
      LatentActivation relu = LatentActivation.topK(2, LatentActivation.RELU);
      assertArrayEquals(new float[] {0.5f, 0, 2, 0, 1, 0, 0, 0}, relu.apply(pre).toFloatArray());
      LatentActivation id = LatentActivation.topK(2, LatentActivation.IDENTITY);
      assertArrayEquals(new float[] {0.5f, 0, 2, 0, 1, 0, -0.5f, 0}, id.apply(pre).toFloatArray());
      assertThrows(
          IllegalArgumentException.class,
          () -> LatentActivation.topK(5, LatentActivation.RELU).apply(pre));
    }
  }

  @Test
  void forwardUpdatesStatsLastNonzeroAsTheOriginal() {
    try (Autoencoder ae = small(LatentActivation.RELU);
        NDManager m = M.newSubManager()) {
      assertArrayEquals(new long[] {0, 0, 0}, ae.statsLastNonzero());
      // latent 0 and 1 active in the batch, latent 2 never
      Autoencoder.ForwardResult r = ae.forward(m.create(new float[] {3, 1, 0, 0}, new Shape(2, 2)));
      assertArrayEquals(new float[] {3, 1.5f, 1, 0.5f}, r.reconstruction().toFloatArray());
      assertArrayEquals(new long[] {1, 1, 1}, ae.statsLastNonzero());
      // x = (1, −1) → x − pre_bias = 0 → pre-acts (0, 0.5, −10): only latent 1 active
      ae.forward(m.create(new float[] {1, -1}, new Shape(1, 2)));
      assertArrayEquals(new long[] {2, 1, 2}, ae.statsLastNonzero());
      assertArrayEquals(new float[] {1, 1, 1}, ae.latentsActivationFrequency());
      assertArrayEquals(new float[] {0, 0, 0}, ae.latentsMeanSquare());
    }
  }

  @Test
  void keepFirstLatentsKeepsPreBiasActivationAndBuffers() {
    try (Autoencoder ae = small(LatentActivation.topK(1, LatentActivation.RELU));
        NDManager m = M.newSubManager()) {
      assertSame(ae, ae.keepFirstLatents(3, m));
      try (Autoencoder two = ae.keepFirstLatents(2, m)) {
        assertEquals(2, two.nLatents());
        assertEquals(ae.latentActivation(), two.latentActivation());
        NDArray x = m.create(new float[] {3, 1}, new Shape(1, 2));
        // pre-acts (2, 2.5): top-1 keeps latent 1
        assertArrayEquals(new float[] {0, 2.5f}, two.encode(x).toFloatArray());
        assertArrayEquals(new float[] {1, -1}, two.preBias(m).toFloatArray());
        assertArrayEquals(new long[] {0, 0}, two.statsLastNonzero());
      }
    }
  }

  @Test
  void activationStateDictsRoundTrip() {
    LatentActivation topK = LatentActivation.topK(8, LatentActivation.RELU);
    assertEquals(Map.of("k", 8L, "postact_fn", "ReLU"), topK.stateDict());
    assertEquals(topK, LatentActivation.fromStateDict("TopK", topK.stateDict(), "test"));
    assertEquals(LatentActivation.RELU, LatentActivation.fromStateDict(null, null, "test"));
    assertEquals(
        LatentActivation.IDENTITY, LatentActivation.fromStateDict("Identity", Map.of(), "t"));
    IllegalArgumentException unknown =
        assertThrows(
            IllegalArgumentException.class,
            () -> LatentActivation.fromStateDict("GELU", Map.of(), "file.pt"));
    assertTrue(unknown.getMessage().contains("file.pt") && unknown.getMessage().contains("TopK"));
    assertThrows(
        IllegalArgumentException.class,
        () -> LatentActivation.fromStateDict("TopK", Map.of("postact_fn", "ReLU"), "t"));
  }

  /**
   * d Σ latents / d x through ReLU and TopK stays exact when the garbage collector runs between the
   * forward and the backward pass (DJL's scalar overloads such as {@code maximum(0f)} would leave
   * autograd reading freed memory).
   */
  @Test
  void gradientsThroughTheActivationsSurviveGarbageCollection() {
    for (LatentActivation activation :
        java.util.List.of(LatentActivation.RELU, LatentActivation.topK(1, LatentActivation.RELU))) {
      try (Autoencoder ae = small(activation);
          NDManager m = M.newSubManager()) {
        float[] gradient =
            io.github.neuronexplainer.models.internal.GradMode.with(
                true,
                () -> {
                  NDArray x = m.create(new float[] {3, 1}, new Shape(1, 2)).duplicate();
                  x.setRequiresGradient(true);
                  NDArray sum = ae.encode(x).sum();
                  for (int i = 0; i < 5; i++) {
                    System.gc();
                  }
                  java.util.List<java.nio.ByteBuffer> reuse = new java.util.ArrayList<>();
                  for (int i = 0; i < 1000; i++) {
                    reuse.add(java.nio.ByteBuffer.allocateDirect(4).putFloat(0, -1e30f));
                  }
                  ai.djl.pytorch.jni.JniUtils.backward(
                      (ai.djl.pytorch.engine.PtNDArray) sum,
                      (ai.djl.pytorch.engine.PtNDArray) sum.onesLike(),
                      false,
                      false);
                  return x.getGradient().toFloatArray();
                });
        // pre-acts (2, 2.5, −6): ReLU passes latents 0 and 1 → rows (1,0) + (0,1); TopK(1) only 1
        float[] expected =
            activation == LatentActivation.RELU ? new float[] {1, 1} : new float[] {0, 1};
        assertArrayEquals(expected, gradient, activation.toString());
      }
    }
  }

  @Test
  void wrongInputWidthIsRefused() {
    try (Autoencoder ae = small(LatentActivation.RELU);
        NDManager m = M.newSubManager()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> ae.encode(m.zeros(new Shape(1, 3))));
      assertTrue(e.getMessage().contains("[..., 2]"), e.getMessage());
    }
  }
}
