package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.AutoencoderMetrics;
import io.github.neuronexplainer.models.records.NeuronRecordCollector;
import io.github.neuronexplainer.models.records.RecordUnits;
import io.github.neuronexplainer.models.training.ModelActivationBatches;
import io.github.neuronexplainer.models.training.SaeProgress;
import io.github.neuronexplainer.models.training.SaeTrainingConfig;
import io.github.neuronexplainer.models.training.TokenCorpus;
import io.github.neuronexplainer.models.training.TopKSaeTrainer;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Trains the TopK SAE shipped with the toy model, reports its {@link AutoencoderMetrics} on the
 * held-out text, and collects neuron records for its latents over the held-out text (the
 * collector's throughput is printed):
 *
 * <pre>
 * java ... io.github.neuronexplainer.examples.TrainToySae models/kjv-gpt2 /tmp/kjv.txt [layer] [steps]
 * </pre>
 *
 * Writes {@code <model>/sae-resid-delta-mlp-layer<layer>.safetensors} and, for the first latents,
 * {@code <model>/records/latent-<i>.json} in the original's NeuronRecord JSON.
 */
public final class TrainToySae {
  private TrainToySae() {}

  public static void main(String[] args) throws IOException {
    Path modelDir = Path.of(args[0]);
    TokenCorpus corpus = TokenCorpus.fromFile(Path.of(args[1]), 20);
    int layer = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    int steps = args.length > 3 ? Integer.parseInt(args[3]) : 300;
    ActivationLocationType location = ActivationLocationType.RESID_DELTA_MLP;
    try (NDManager manager = NDManager.newBaseManager();
        Transformer model = Transformer.fromCheckpoint(Gpt2Checkpoint.load(modelDir), manager)) {
      ModelActivationBatches batches =
          new ModelActivationBatches(
              model, location, layer, corpus, model.config().ctxWindow(), 32, 7);
      SaeTrainingConfig config =
          SaeTrainingConfig.builder(1024, 16)
              .batchSize(1024)
              .steps(steps)
              .learningRate(2e-3)
              .auxK(64)
              .deadAfterTokens(40_000)
              .build();
      System.out.printf("SAE on %s layer %d: %s%n", location, layer, config);
      Path saeFile = modelDir.resolve("sae-resid-delta-mlp-layer" + layer + ".safetensors");
      try (TopKSaeTrainer trainer = new TopKSaeTrainer(config, batches.width(), manager)) {
        trainer.train(
            batches,
            (SaeProgress p) -> {
              if (p.step() % 25 == 0) {
                System.out.printf(
                    "step %4d/%d  FVU %.3f  aux %.3f  dead %.3f%n",
                    p.step(),
                    p.steps(),
                    p.fractionOfVarianceUnexplained(),
                    p.auxLoss(),
                    p.deadFraction());
              }
            });
        try (Autoencoder sae = trainer.toAutoencoder(manager)) {
          sae.saveSafetensors(saeFile);
        }
      }
      try (Autoencoder sae = Autoencoder.load(saeFile, manager)) {
        List<int[]> prompts = new ArrayList<>();
        for (long[] w : corpus.heldOutWindows(model.config().ctxWindow() - 1, 16)) {
          prompts.add(java.util.Arrays.stream(w).mapToInt(t -> (int) t).toArray());
        }
        AutoencoderMetrics.Report report =
            AutoencoderMetrics.evaluate(
                model,
                sae,
                location,
                layer,
                prompts,
                AutoencoderMetrics.DEFAULT_DENSE_THRESHOLD,
                manager);
        System.out.printf(
            "Held-out metrics (%d tokens): L0 %.1f, dead %.3f, dense %.3f, FVU %.3f, normalized MSE %.3f,"
                + " loss %.3f -> spliced %.3f (+%.3f), zero-ablated %.3f, loss recovered %.3f%n",
            report.tokens(),
            report.l0(),
            report.deadFraction(),
            report.denseFraction(),
            report.fractionOfVarianceUnexplained(),
            report.normalizedMse(),
            report.loss(),
            report.splicedLoss(),
            report.splicedLossIncrease(),
            report.zeroAblationLoss(),
            report.lossRecovered());

        NeuronRecordCollector collector = NeuronRecordCollector.builder(model).build();
        NeuronRecordCollector.Result result =
            collector.collect(
                RecordUnits.autoencoderLatents(sae, location, layer),
                corpus.heldOutTokenIds(),
                p -> {});
        System.out.printf(
            "Collected %d latent records over %,d tokens in %.1f s: %,.0f tokens/s%n",
            result.records().size(), result.tokens(), result.seconds(), result.tokensPerSecond());
        Path records = modelDir.resolve("records");
        Files.createDirectories(records);
        int written = 0;
        for (NeuronRecord record : result.records()) {
          if (written == 4) {
            break;
          }
          if (record.mostPositiveActivationRecords().isEmpty() || record.maxActivation() <= 0) {
            continue;
          }
          Path file = records.resolve("latent-" + record.neuronId().neuronIndex() + ".json");
          try {
            Files.writeString(file, FastDataclassJson.dumps(record));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          System.out.printf(
              "latent %d: max %.2f; top excerpt: %s%n",
              record.neuronId().neuronIndex(),
              record.maxActivation(),
              String.join("", record.mostPositiveActivationRecords().get(0).tokens())
                  .replace("\n", "\\n"));
          written++;
        }
      }
    }
  }
}
