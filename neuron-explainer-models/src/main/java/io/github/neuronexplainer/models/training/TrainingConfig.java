package io.github.neuronexplainer.models.training;

import io.github.neuronexplainer.models.TransformerConfig;
import java.util.Objects;

/**
 * How to train a GPT-2 with {@link Gpt2Trainer}: the model's shape and the recipe (AdamW, linear
 * warm-up then cosine decay, gradient clipping), with nanoGPT's defaults for small models. Build
 * one with {@link #builder(TransformerConfig)}.
 *
 * <p>Thread-safety: immutable.
 *
 * @param model the model's shape (its {@code ctxWindow} is the training window length)
 * @param batchSize windows per step
 * @param steps optimizer steps in all
 * @param peakLearningRate learning rate after the warm-up
 * @param finalLearningRate learning rate at the last step
 * @param warmupSteps steps of linear warm-up
 * @param weightDecay AdamW's decoupled weight decay (matrices and token embedding only)
 * @param beta1 AdamW's first-moment decay
 * @param beta2 AdamW's second-moment decay
 * @param epsilon AdamW's epsilon
 * @param gradientClip maximum global gradient norm (0 = no clipping)
 * @param seed seed of the initial weights and of the window sampler
 * @param evalEvery steps between held-out evaluations (0 = only at the end)
 * @param evalWindows held-out windows per evaluation
 * @param checkpointEvery steps between checkpoints (0 = only at the end)
 */
public record TrainingConfig(
    TransformerConfig model,
    int batchSize,
    int steps,
    double peakLearningRate,
    double finalLearningRate,
    int warmupSteps,
    double weightDecay,
    double beta1,
    double beta2,
    double epsilon,
    double gradientClip,
    long seed,
    int evalEvery,
    int evalWindows,
    int checkpointEvery) {

  public TrainingConfig {
    Objects.requireNonNull(model, "model");
    if (batchSize < 1 || steps < 1 || evalWindows < 1) {
      throw new IllegalArgumentException(
          "batchSize, steps and evalWindows must be >= 1; got "
              + batchSize
              + ", "
              + steps
              + ", "
              + evalWindows);
    }
    if (gradientClip < 0 || evalEvery < 0 || checkpointEvery < 0) {
      throw new IllegalArgumentException(
          "gradientClip, evalEvery and checkpointEvery must be >= 0");
    }
    schedule(peakLearningRate, finalLearningRate, warmupSteps, steps); // validates
  }

  private static LearningRateSchedule schedule(double peak, double floor, int warmup, int steps) {
    return new LearningRateSchedule(peak, floor, warmup, steps);
  }

  /** The learning-rate schedule of this recipe. */
  public LearningRateSchedule schedule() {
    return schedule(peakLearningRate, finalLearningRate, warmupSteps, steps);
  }

  /** Tokens the model reads per step. */
  public long tokensPerStep() {
    return (long) batchSize * model.ctxWindow();
  }

  public static Builder builder(TransformerConfig model) {
    return new Builder(model);
  }

  /** A GPT-2 shape with the GPT-2 vocabulary: MLP 4× wide, layer-norm epsilon 1e-5. */
  public static TransformerConfig gpt2Shape(int ctxWindow, int dModel, int nLayers, int nHeads) {
    return new TransformerConfig(
        "gpt2",
        ctxWindow,
        dModel,
        nLayers,
        nHeads,
        1,
        4,
        TransformerConfig.DEFAULT_LAYER_NORM_EPSILON,
        TransformerConfig.vocabSizeOf("gpt2"));
  }

  /**
   * Builder with defaults: batch 8, 1000 steps, lr 1e-3 → 1e-4, warm-up 100, λ 0.1, β (0.9, 0.95),
   * clip 1.
   */
  public static final class Builder {
    private final TransformerConfig model;
    private int batchSize = 8;
    private int steps = 1000;
    private double peakLearningRate = 1e-3;
    private double finalLearningRate = 1e-4;
    private int warmupSteps = 100;
    private double weightDecay = 0.1;
    private double beta1 = 0.9;
    private double beta2 = 0.95;
    private double epsilon = 1e-8;
    private double gradientClip = 1.0;
    private long seed = 1234;
    private int evalEvery = 250;
    private int evalWindows = 64;
    private int checkpointEvery = 250;

    private Builder(TransformerConfig model) {
      this.model = model;
    }

    public Builder batchSize(int v) {
      this.batchSize = v;
      return this;
    }

    public Builder steps(int v) {
      this.steps = v;
      return this;
    }

    public Builder peakLearningRate(double v) {
      this.peakLearningRate = v;
      return this;
    }

    public Builder finalLearningRate(double v) {
      this.finalLearningRate = v;
      return this;
    }

    public Builder warmupSteps(int v) {
      this.warmupSteps = v;
      return this;
    }

    public Builder weightDecay(double v) {
      this.weightDecay = v;
      return this;
    }

    public Builder betas(double b1, double b2) {
      this.beta1 = b1;
      this.beta2 = b2;
      return this;
    }

    public Builder epsilon(double v) {
      this.epsilon = v;
      return this;
    }

    public Builder gradientClip(double v) {
      this.gradientClip = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    public Builder evalEvery(int v) {
      this.evalEvery = v;
      return this;
    }

    public Builder evalWindows(int v) {
      this.evalWindows = v;
      return this;
    }

    public Builder checkpointEvery(int v) {
      this.checkpointEvery = v;
      return this;
    }

    public TrainingConfig build() {
      return new TrainingConfig(
          model,
          batchSize,
          steps,
          peakLearningRate,
          finalLearningRate,
          warmupSteps,
          weightDecay,
          beta1,
          beta2,
          epsilon,
          gradientClip,
          seed,
          evalEvery,
          evalWindows,
          checkpointEvery);
    }
  }
}
