package io.github.neuronexplainer.models.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.hooks.Hooks;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2TrainerTest {
  private static final String TEXT =
      String.join(
          "\n\n",
          "In the beginning God created the heaven and the earth.\nAnd the earth was without form.",
          "And God said, Let there be light: and there was light.",
          "And God saw the light, that it was good.\nAnd God divided the light from the darkness.",
          "And God called the light Day, and the darkness he called Night.",
          "And the evening and the morning were the first day.",
          "And God said, Let there be a firmament in the midst of the waters.");
  private static final TransformerConfig SHAPE = TrainingConfig.gpt2Shape(16, 32, 1, 2);

  @TempDir Path dir;

  private static TokenCorpus corpus() {
    return TokenCorpus.fromText((TEXT + "\n\n").repeat(8), 4);
  }

  @Test
  void trainingReducesTheHeldOutLoss() {
    TrainingConfig config =
        TrainingConfig.builder(SHAPE)
            .batchSize(4)
            .steps(40)
            .warmupSteps(4)
            .peakLearningRate(1e-2)
            .finalLearningRate(1e-3)
            .evalEvery(0)
            .evalWindows(8)
            .build();
    try (NDManager manager = NDManager.newBaseManager();
        Gpt2Trainer trainer = new Gpt2Trainer(config, corpus(), null, manager)) {
      double before = trainer.heldOutLoss(8);
      List<TrainingProgress> steps = new ArrayList<>();
      TrainingProgress last = trainer.train(steps::add);
      assertEquals(40, steps.size());
      assertEquals(40, last.step());
      // a fresh model is near-uniform over the 50,257 tokens: ln 50257 = 10.8
      assertEquals(Math.log(50257), before, 0.5);
      assertTrue(
          last.heldOutLoss() < before - 5, "held-out loss " + before + " -> " + last.heldOutLoss());
      assertTrue(last.trainLoss() < steps.get(0).trainLoss() - 5);
    }
  }

  @Test
  void usedTokenLossEqualsTheFullVocabularyLoss() {
    TokenCorpus corpus = corpus();
    int[] used = corpus.usedTokens();
    try (NDManager manager = NDManager.newBaseManager();
        TrainableGpt2 model = TrainableGpt2.initialise(SHAPE, 7, used, manager)) {
      long[][] windows = corpus.sampleTrainWindows(new Random(3), 3, 16);
      float full = model.loss(windows, null, manager).getFloat();
      float cheap = model.loss(windows, used, manager).getFloat();
      assertEquals(full, cheap, 1e-5);
      // rows of tokens outside the corpus are zero
      float[] wte = model.parameters().get("wte.weight").get("0:1").toFloatArray(); // "!" is unused
      assertArrayEquals(new float[32], wte, 0f);
    }
  }

  @Test
  void savedCheckpointLoadsAsATransformerWithTheSameLogits() {
    try (NDManager manager = NDManager.newBaseManager();
        TrainableGpt2 model =
            TrainableGpt2.initialise(TrainingConfig.gpt2Shape(16, 32, 2, 4), 11, null, manager)) {
      long[] tokens = {464, 3139, 286, 262, 1492, 13, 843, 2430};
      NDArray expected = model.logits(manager.create(tokens, new Shape(1, tokens.length)), manager);
      model.save(dir.resolve("f32"), DType.F32);
      model.save(dir.resolve("f16"), DType.F16);
      for (String variant : List.of("f32", "f16")) {
        Gpt2Checkpoint checkpoint = Gpt2Checkpoint.load(dir.resolve(variant));
        assertEquals(model.config(), checkpoint.config());
        assertEquals(
            variant.equals("f16") ? DType.F16 : DType.F32,
            checkpoint.tensor("tok_embed.weight").dtype());
        try (Transformer loaded = Transformer.fromCheckpoint(checkpoint, manager)) {
          int[] prompt = java.util.Arrays.stream(tokens).mapToInt(t -> (int) t).toArray();
          NDArray actual = loaded.logits(List.of(prompt), Hooks.none(), manager);
          double tolerance = variant.equals("f32") ? 1e-4 : 2e-2;
          float[] a = actual.toFloatArray();
          float[] e = expected.toFloatArray();
          double maxError = 0;
          for (int i = 0; i < a.length; i++) {
            maxError = Math.max(maxError, Math.abs(a[i] - e[i]));
          }
          assertTrue(maxError < tolerance, variant + ": max error " + maxError);
        }
      }
    }
  }

  @Test
  void resumingGivesTheSameWeightsAsAnUninterruptedRun() {
    TrainingConfig.Builder recipe =
        TrainingConfig.builder(SHAPE)
            .batchSize(2)
            .warmupSteps(0)
            .peakLearningRate(3e-3)
            .finalLearningRate(3e-3)
            .evalEvery(0)
            .evalWindows(2)
            .checkpointEvery(0);
    TokenCorpus corpus = corpus();
    try (NDManager manager = NDManager.newBaseManager()) {
      Map<String, float[]> straight;
      try (Gpt2Trainer trainer =
          new Gpt2Trainer(recipe.steps(6).build(), corpus, dir.resolve("a"), manager)) {
        trainer.train(p -> {});
        straight = snapshot(trainer.model());
      }
      try (Gpt2Trainer first =
          new Gpt2Trainer(recipe.steps(3).build(), corpus, dir.resolve("b"), manager)) {
        first.train(p -> {});
      }
      assertTrue(Gpt2Trainer.latestCheckpoint(dir.resolve("b")).endsWith("step-3"));
      try (Gpt2Trainer resumed =
          new Gpt2Trainer(recipe.steps(6).build(), corpus, dir.resolve("b"), manager)) {
        assertEquals(3, resumed.completedSteps());
        resumed.train(p -> {});
        Map<String, float[]> after = snapshot(resumed.model());
        for (String name : straight.keySet()) {
          assertArrayEquals(straight.get(name), after.get(name), 1e-6f, name);
        }
      }
    }
  }

  private static Map<String, float[]> snapshot(TrainableGpt2 model) {
    Map<String, float[]> out = new java.util.HashMap<>();
    model.parameters().forEach((k, a) -> out.put(k, a.toFloatArray()));
    return out;
  }
}
