package io.github.neuronexplainer.models.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Activations at one {@link ActivationLocationType} and layer of a model, streamed over random
 * windows of a corpus's training part: the model runs {@code windowsPerRefill} windows at a time
 * (no autograd), the activations of all their tokens are shuffled, and batches are served from that
 * buffer until it runs low.
 *
 * <p>Thread-safety: not thread-safe (one trainer reads it).
 */
public final class ModelActivationBatches implements ActivationBatches {
  private final Transformer model;
  private final HookPoint point;
  private final int layer;
  private final TokenCorpus corpus;
  private final int windowLength;
  private final int windowsPerRefill;
  private final Random random;
  private final int width;
  private float[] buffer = new float[0];
  private int rows;
  private int next;
  private long tokensRead;

  /**
   * @param location a per-token activation of width {@code d_model} or {@code d_mlp} (e.g. {@code
   *     MLP_POST_ACT}, {@code RESID_DELTA_MLP})
   */
  public ModelActivationBatches(
      Transformer model,
      ActivationLocationType location,
      int layer,
      TokenCorpus corpus,
      int windowLength,
      int windowsPerRefill,
      long seed) {
    this.model = model;
    this.point = HookPoint.forLocation(location);
    this.layer = layer;
    this.corpus = corpus;
    this.windowLength = windowLength;
    this.windowsPerRefill = windowsPerRefill;
    this.random = new Random(seed);
    this.width = widthOf(location, model);
    if (layer < 0 || layer >= model.config().nLayers()) {
      throw new IllegalArgumentException(
          "Layer " + layer + " does not exist; the model has " + model.config().nLayers());
    }
  }

  private static int widthOf(ActivationLocationType location, Transformer model) {
    return switch (location) {
      case MLP_PRE_ACT, MLP_POST_ACT -> model.config().dFf();
      case RESID_DELTA_MLP, RESID_DELTA_ATTN, RESID_POST_ATTN, RESID_POST_MLP ->
          model.config().dModel();
      default ->
          throw new IllegalArgumentException(
              location
                  + " is not a per-token activation an autoencoder can be trained on; use "
                  + "MLP_POST_ACT, MLP_PRE_ACT, RESID_DELTA_MLP, RESID_DELTA_ATTN, RESID_POST_ATTN or RESID_POST_MLP");
    };
  }

  /** Width of each row. */
  public int width() {
    return width;
  }

  /** Tokens run through the model so far. */
  public long tokensRead() {
    return tokensRead;
  }

  @Override
  public NDArray next(int batchSize, NDManager manager) {
    while (rows - next < batchSize) {
      refill();
    }
    float[] out = new float[batchSize * width];
    System.arraycopy(buffer, next * width, out, 0, out.length);
    next += batchSize;
    return manager.create(out, new Shape(batchSize, width));
  }

  private void refill() {
    List<int[]> prompts = new ArrayList<>();
    for (long[] window : corpus.sampleTrainWindows(random, windowsPerRefill, windowLength)) {
      int[] prompt = new int[windowLength];
      for (int i = 0; i < windowLength; i++) {
        prompt[i] = (int) window[i];
      }
      prompts.add(prompt);
    }
    float[] fresh;
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache =
            model.runWithCache(
                RunRequest.builder().prompts(prompts).forward(point).layers(Set.of(layer)).build(),
                m)) {
      NDArray acts = cache.get(point, layer, PassType.FORWARD);
      fresh = acts.toFloatArray();
    }
    tokensRead += (long) windowsPerRefill * windowLength;
    int kept = rows - next;
    int freshRows = fresh.length / width;
    float[] merged = new float[(kept + freshRows) * width];
    System.arraycopy(buffer, next * width, merged, 0, kept * width);
    System.arraycopy(fresh, 0, merged, kept * width, fresh.length);
    int total = kept + freshRows;
    float[] row = new float[width];
    for (int i = total - 1; i > 0; i--) { // Fisher-Yates over rows
      int j = random.nextInt(i + 1);
      System.arraycopy(merged, i * width, row, 0, width);
      System.arraycopy(merged, j * width, merged, i * width, width);
      System.arraycopy(row, 0, merged, j * width, width);
    }
    buffer = merged;
    rows = total;
    next = 0;
  }
}
