package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.SampleResult;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.training.Gpt2Trainer;
import io.github.neuronexplainer.models.training.TokenCorpus;
import io.github.neuronexplainer.models.training.TrainingConfig;
import io.github.neuronexplainer.models.training.TrainingProgress;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Trains the toy GPT-2 shipped in {@code models/kjv-gpt2} (see its MODEL_CARD.md and TRAINING.md):
 *
 * <pre>
 * models/kjv-gpt2/make-corpus.sh /tmp/kjv.txt
 * java ... io.github.neuronexplainer.examples.TrainToyModel --corpus /tmp/kjv.txt \
 *     --checkpoints /tmp/kjv-ckpt --out models/kjv-gpt2 --steps 3000
 * </pre>
 *
 * Options (defaults in brackets): {@code --layers [4] --d-model [128] --heads [4] --ctx [128]
 * --batch [8] --steps [3000] --lr [2e-3] --warmup [150] --eval-every [250] --checkpoint-every [250]
 * --held-out-every [20] --seed [1234]}. Rerunning with the same checkpoint folder resumes. At the
 * end the model is written to {@code --out} in fp16 and sampled.
 */
public final class TrainToyModel {
  private TrainToyModel() {}

  public static void main(String[] args) {
    Map<String, String> options = parse(args);
    Path corpusFile = Path.of(required(options, "corpus"));
    Path checkpoints = Path.of(options.getOrDefault("checkpoints", "kjv-checkpoints"));
    Path out = Path.of(options.getOrDefault("out", "models/kjv-gpt2"));
    TransformerConfig shape =
        TrainingConfig.gpt2Shape(
            integer(options, "ctx", 128), integer(options, "d-model", 128),
            integer(options, "layers", 4), integer(options, "heads", 4));
    double lr = Double.parseDouble(options.getOrDefault("lr", "2e-3"));
    TrainingConfig config =
        TrainingConfig.builder(shape)
            .batchSize(integer(options, "batch", 8))
            .steps(integer(options, "steps", 3000))
            .peakLearningRate(lr)
            .finalLearningRate(lr / 10)
            .warmupSteps(integer(options, "warmup", 150))
            .evalEvery(integer(options, "eval-every", 250))
            .evalWindows(integer(options, "eval-windows", 64))
            .checkpointEvery(integer(options, "checkpoint-every", 250))
            .seed(Long.parseLong(options.getOrDefault("seed", "1234")))
            .build();
    TokenCorpus corpus = TokenCorpus.fromFile(corpusFile, integer(options, "held-out-every", 20));
    System.out.printf(
        "Corpus %s: %,d training tokens, %,d held-out tokens, %,d distinct%n",
        corpusFile, corpus.trainTokens(), corpus.heldOutTokens(), corpus.usedTokens().length);
    System.out.printf("Recipe: %s%n", config);

    try (NDManager manager = NDManager.newBaseManager();
        Gpt2Trainer trainer = new Gpt2Trainer(config, corpus, checkpoints, manager)) {
      System.out.printf(
          "Model: %,d parameters; starting at step %d of %d%n",
          trainer.model().parameterCount(), trainer.completedSteps(), config.steps());
      long start = System.nanoTime();
      int startStep = trainer.completedSteps();
      double[] smoothed = {Double.NaN};
      TrainingProgress last =
          trainer.train(
              p -> {
                smoothed[0] =
                    Double.isNaN(smoothed[0])
                        ? p.trainLoss()
                        : 0.95 * smoothed[0] + 0.05 * p.trainLoss();
                if (p.step() % 10 == 0 || p.evaluated()) {
                  double elapsed = (System.nanoTime() - start) / 1e9;
                  double tokensPerSecond =
                      (p.step() - startStep) * config.tokensPerStep() / elapsed;
                  System.out.printf(
                      "step %5d/%d  loss %.3f (avg %.3f)  lr %.2e  |g| %.2f  %,.0f tokens/s%s%n",
                      p.step(),
                      p.steps(),
                      p.trainLoss(),
                      smoothed[0],
                      p.learningRate(),
                      p.gradientNorm(),
                      tokensPerSecond,
                      p.evaluated() ? String.format("  held-out loss %.3f", p.heldOutLoss()) : "");
                }
              });
      if (last != null) {
        System.out.printf(
            "Final: train loss (smoothed) %.3f, held-out loss %.3f%n",
            smoothed[0], last.heldOutLoss());
      }
      trainer.model().save(out, DType.F16);
      System.out.printf("Wrote %s (fp16)%n", out);
    }
    printSamples(out);
  }

  /** Loads the exported model as users will and samples a few continuations. */
  static void printSamples(Path folder) {
    try (NDManager manager = NDManager.newBaseManager();
        Transformer model = Transformer.fromCheckpoint(Gpt2Checkpoint.load(folder), manager)) {
      List<String> prompts =
          List.of(
              "In the beginning",
              "And the LORD said unto Moses,",
              "Blessed are the",
              "And Jesus answered");
      SampleResult greedy = model.sampleText(prompts, SamplingOptions.greedy(24), Hooks.none());
      for (int i = 0; i < prompts.size(); i++) {
        System.out.printf(
            "  %s|%s%n", prompts.get(i), greedy.strings().get(i).replace("\n", "\\n"));
      }
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException(
            "Arguments are --name value pairs; '" + args[i] + "' is not (see the class comment)");
      }
      options.put(args[i].substring(2), args[++i]);
    }
    return options;
  }

  private static String required(Map<String, String> options, String name) {
    String value = options.get(name);
    if (value == null) {
      throw new IllegalArgumentException(
          "--" + name + " is required; make the corpus with models/kjv-gpt2/make-corpus.sh");
    }
    return value;
  }

  private static int integer(Map<String, String> options, String name, int fallback) {
    return options.containsKey(name) ? Integer.parseInt(options.get(name)) : fallback;
  }
}
