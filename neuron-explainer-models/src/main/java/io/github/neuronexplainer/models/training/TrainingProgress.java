package io.github.neuronexplainer.models.training;

/**
 * One step of {@link Gpt2Trainer#train}: what a progress callback receives.
 *
 * @param step the step just completed (1-based)
 * @param steps steps in all
 * @param trainLoss this step's batch loss (nats per token)
 * @param heldOutLoss the held-out loss if this step evaluated it, else {@code NaN}
 * @param learningRate this step's learning rate
 * @param gradientNorm the global gradient norm before clipping
 * @param tokensPerSecond training throughput of this step
 */
public record TrainingProgress(
    int step,
    int steps,
    double trainLoss,
    double heldOutLoss,
    double learningRate,
    double gradientNorm,
    double tokensPerSecond) {

  /** True if this step evaluated the held-out loss. */
  public boolean evaluated() {
    return !Double.isNaN(heldOutLoss);
  }
}
