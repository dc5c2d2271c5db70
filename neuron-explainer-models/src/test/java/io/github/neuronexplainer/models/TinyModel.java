package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;

/** The pack's tiny GPT-2, loaded once per test JVM. */
final class TinyModel {
  static final NDManager MANAGER = NDManager.newBaseManager();
  static final Gpt2Checkpoint CHECKPOINT = Gpt2Checkpoint.load(TestPack.load().modelDirs().get(0));
  static final Transformer MODEL = Transformer.fromCheckpoint(CHECKPOINT, MANAGER);

  private TinyModel() {}
}
