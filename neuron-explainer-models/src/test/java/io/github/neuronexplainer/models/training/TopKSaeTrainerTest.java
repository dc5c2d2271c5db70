package io.github.neuronexplainer.models.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer recovers a known sparse dictionary from synthetic data. */
class TopKSaeTrainerTest {
  private static final int INPUTS = 16;
  private static final int FEATURES = 24;
  private static final int ACTIVE = 2;

  @TempDir Path dir;

  /**
   * Unit feature directions [FEATURES][INPUTS], and batches of ACTIVE features each, plus an
   * offset.
   */
  private static float[][] dictionary(Random random) {
    float[][] features = new float[FEATURES][INPUTS];
    for (float[] f : features) {
      double norm = 0;
      for (int i = 0; i < INPUTS; i++) {
        f[i] = (float) random.nextGaussian();
        norm += f[i] * f[i];
      }
      for (int i = 0; i < INPUTS; i++) {
        f[i] /= (float) Math.sqrt(norm);
      }
    }
    return features;
  }

  private static ActivationBatches syntheticData(float[][] features, Random random) {
    return (batch, manager) -> {
      float[] rows = new float[batch * INPUTS];
      for (int b = 0; b < batch; b++) {
        for (int a = 0; a < ACTIVE; a++) {
          float[] f = features[random.nextInt(FEATURES)];
          float magnitude = 1 + 2 * random.nextFloat();
          for (int i = 0; i < INPUTS; i++) {
            rows[b * INPUTS + i] += magnitude * f[i];
          }
        }
        rows[b * INPUTS] += 0.5f; // a constant offset for the pre-bias to absorb
      }
      return manager.create(rows, new Shape(batch, INPUTS));
    };
  }

  @Test
  void recoversKnownFeatures() {
    Random random = new Random(42);
    float[][] features = dictionary(random);
    SaeTrainingConfig config =
        SaeTrainingConfig.builder(32, ACTIVE)
            .batchSize(256)
            .steps(400)
            .learningRate(1e-2)
            .deadAfterTokens(2_000)
            .auxK(8)
            .build();
    try (NDManager manager = NDManager.newBaseManager();
        TopKSaeTrainer trainer = new TopKSaeTrainer(config, INPUTS, manager)) {
      SaeProgress last = trainer.train(syntheticData(features, random), p -> {});
      assertEquals(400, last.step());
      assertTrue(
          last.fractionOfVarianceUnexplained() < 0.1,
          "FVU " + last.fractionOfVarianceUnexplained());
      try (Autoencoder sae = trainer.toAutoencoder(manager)) {
        float[] decoder = sae.decoderWeight(manager).toFloatArray(); // [INPUTS, 32]
        int recovered = 0;
        for (float[] f : features) {
          double best = 0;
          for (int j = 0; j < 32; j++) {
            double dot = 0;
            double norm = 0;
            for (int i = 0; i < INPUTS; i++) {
              dot += f[i] * decoder[i * 32 + j];
              norm += decoder[i * 32 + j] * decoder[i * 32 + j];
            }
            assertEquals(1.0, norm, 1e-3, "decoder columns stay unit norm");
            best = Math.max(best, dot);
          }
          if (best > 0.95) {
            recovered++;
          }
        }
        assertTrue(
            recovered >= FEATURES - 2, recovered + " of " + FEATURES + " features recovered");
        // the saved file loads back as the same autoencoder
        sae.saveSafetensors(dir.resolve("sae.safetensors"));
        try (Autoencoder loaded = Autoencoder.load(dir.resolve("sae.safetensors"), manager)) {
          NDArray x = syntheticData(features, random).next(8, manager);
          float[] a = sae.encode(x).toFloatArray();
          float[] b = loaded.encode(x).toFloatArray();
          for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-5);
          }
        }
      }
    }
  }
}
