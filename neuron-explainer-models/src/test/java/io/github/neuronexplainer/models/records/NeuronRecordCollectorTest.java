package io.github.neuronexplainer.models.records;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Gpt2Tokenizer;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import io.github.neuronexplainer.models.training.TrainableGpt2;
import io.github.neuronexplainer.models.training.TrainingConfig;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The collector's records equal a brute-force computation, excerpt by excerpt. */
class NeuronRecordCollectorTest {
  private static final int LENGTH = 8;
  private static final int TOP = 3;
  private static final int RANDOM = 4;

  @TempDir Path dir;

  @Test
  void recordsEqualBruteForce() {
    int[] tokens =
        Gpt2Tokenizer.instance()
            .encodeOrdinary(
                "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
                    + "and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the "
                    + "waters. And God said, Let there be light: and there was light. And God saw the light, that it "
                    + "was good: and God divided the light from the darkness.");
    try (NDManager manager = NDManager.newBaseManager()) {
      try (TrainableGpt2 init =
          TrainableGpt2.initialise(TrainingConfig.gpt2Shape(16, 32, 2, 4), 5, null, manager)) {
        init.save(dir, DType.F32);
      }
      try (Transformer model = Transformer.fromCheckpoint(Gpt2Checkpoint.load(dir), manager);
          Autoencoder sae = randomAutoencoder(manager)) {
        NeuronRecordCollector collector =
            NeuronRecordCollector.builder(model)
                .excerptLength(LENGTH)
                .topCount(TOP)
                .randomCount(RANDOM)
                .batchSize(3)
                .seed(9)
                .build();
        List<RecordUnits> all =
            List.of(
                RecordUnits.mlpNeurons(1),
                RecordUnits.attentionHeads(0),
                RecordUnits.autoencoderLatents(sae, ActivationLocationType.RESID_DELTA_MLP, 1));
        for (RecordUnits units : all) {
          NeuronRecordCollector.Result result = collector.collect(units, tokens, p -> {});
          int excerpts = tokens.length / LENGTH;
          assertEquals((long) excerpts * LENGTH, result.tokens());
          List<float[][]> brute = new ArrayList<>(); // [excerpt][unit][value]
          for (int e = 0; e < excerpts; e++) {
            brute.add(
                bruteForce(
                    model,
                    sae,
                    units,
                    java.util.Arrays.copyOfRange(tokens, e * LENGTH, (e + 1) * LENGTH)));
          }
          int nUnits = brute.get(0).length;
          assertEquals(nUnits, result.records().size());
          List<Integer> randomExcerpts = null;
          for (int u = 0; u < nUnits; u++) {
            NeuronRecord record = result.records().get(u);
            assertEquals(u, record.neuronId().neuronIndex());
            assertEquals(units.layer(), record.neuronId().layerIndex());
            int unit = u;
            List<Integer> order =
                IntStream.range(0, excerpts)
                    .boxed()
                    .sorted(
                        Comparator.comparingDouble((Integer e) -> -max(brute.get(e)[unit]))
                            .thenComparing(e -> e))
                    .toList();
            for (int i = 0; i < TOP; i++) {
              int e = order.get(i);
              assertRecord(
                  record.mostPositiveActivationRecords().get(i), brute.get(e)[u], tokens, e);
            }
            // the random excerpts are the same for every unit
            List<Integer> found = new ArrayList<>();
            for (ActivationRecord r : record.randomSample()) {
              found.add(excerptOf(r, tokens));
            }
            if (randomExcerpts == null) {
              randomExcerpts = found;
              assertEquals(RANDOM, Set.copyOf(found).size());
            }
            assertEquals(randomExcerpts, found);
            for (int i = 0; i < RANDOM; i++) {
              assertRecord(
                  record.randomSample().get(i), brute.get(found.get(i))[u], tokens, found.get(i));
            }
            double sum = 0;
            double squares = 0;
            int n = 0;
            for (float[][] b : brute) {
              for (float v : b[u]) {
                sum += v;
                squares += (double) v * v;
                n++;
              }
            }
            double mean = sum / n;
            assertEquals(mean, record.mean(), 1e-5);
            assertEquals(squares / n - mean * mean, record.variance(), 1e-5);
          }
          // the explainers read the original's JSON
          NeuronRecord first = result.records().get(0);
          assertEquals(
              first, FastDataclassJson.loads(FastDataclassJson.dumps(first), NeuronRecord.class));
        }
      }
    }
  }

  private static Autoencoder randomAutoencoder(NDManager manager) {
    NDArray encoder = manager.randomNormal(new ai.djl.ndarray.types.Shape(48, 32));
    return Autoencoder.of(
        manager.zeros(new ai.djl.ndarray.types.Shape(32)),
        encoder,
        manager.zeros(new ai.djl.ndarray.types.Shape(48)),
        encoder.transpose().duplicate(),
        new LatentActivation.TopK(4, new LatentActivation.Relu()),
        manager);
  }

  /** One excerpt's activations [unit][value], read element by element from a single-prompt run. */
  private static float[][] bruteForce(
      Transformer model, Autoencoder sae, RecordUnits units, int[] excerpt) {
    ActivationLocationType location =
        units instanceof RecordUnits.MlpNeurons
            ? ActivationLocationType.MLP_POST_ACT
            : units instanceof RecordUnits.AttentionHeads
                ? ActivationLocationType.ATTN_QK_PROBS
                : ActivationLocationType.RESID_DELTA_MLP;
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache =
            model.runWithCache(
                RunRequest.builder()
                    .prompt(excerpt)
                    .forward(io.github.neuronexplainer.models.hooks.HookPoint.forLocation(location))
                    .layers(Set.of(units.layer()))
                    .build(),
                m)) {
      NDArray x =
          cache.get(location, units.layer(), PassType.FORWARD).get(0); // drop the batch axis
      if (units instanceof RecordUnits.AttentionHeads) {
        int heads = (int) x.getShape().get(2);
        float[][] out = new float[heads][LENGTH * (LENGTH + 1) / 2];
        for (int h = 0; h < heads; h++) {
          int i = 0;
          for (int q = 0; q < LENGTH; q++) {
            for (int k = 0; k <= q; k++) {
              out[h][i++] = x.getFloat(q, k, h);
            }
          }
        }
        return out;
      }
      if (units instanceof RecordUnits.AutoencoderLatents) {
        x = sae.encode(x);
      }
      int width = (int) x.getShape().get(1);
      float[][] out = new float[width][LENGTH];
      for (int u = 0; u < width; u++) {
        for (int t = 0; t < LENGTH; t++) {
          out[u][t] = x.getFloat(t, u);
        }
      }
      return out;
    }
  }

  private static void assertRecord(
      ActivationRecord record, float[] expected, int[] tokens, int excerpt) {
    assertEquals(excerpt, excerptOf(record, tokens));
    assertEquals(expected.length, record.activations().size());
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], record.activations().get(i).floatValue(), 1e-5);
    }
  }

  /** Which excerpt a record shows, found from its token strings. */
  private static int excerptOf(ActivationRecord record, int[] tokens) {
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.instance();
    for (int e = 0; e < tokens.length / LENGTH; e++) {
      boolean same = true;
      for (int t = 0; t < LENGTH && same; t++) {
        same = tokenizer.decodeToken(tokens[e * LENGTH + t]).equals(record.tokens().get(t));
      }
      if (same) {
        return e;
      }
    }
    throw new AssertionError("record tokens match no excerpt: " + record.tokens());
  }

  private static float max(float[] values) {
    float max = Float.NEGATIVE_INFINITY;
    for (float v : values) {
      max = Math.max(max, v);
    }
    return max;
  }
}
