package io.github.neuronexplainer.models.training;

/**
 * Linear warm-up to a peak learning rate, then a cosine decay to a floor at the last step (the
 * GPT-2 / nanoGPT schedule).
 *
 * <p>Thread-safety: immutable.
 *
 * @param peak the learning rate reached at the end of the warm-up
 * @param floor the learning rate at {@code totalSteps} and after
 * @param warmupSteps steps of linear warm-up from {@code peak / warmupSteps}
 * @param totalSteps the step at which the decay reaches {@code floor}
 */
public record LearningRateSchedule(double peak, double floor, int warmupSteps, int totalSteps) {

  public LearningRateSchedule {
    if (!(peak > 0) || floor < 0 || floor > peak) {
      throw new IllegalArgumentException(
          "Learning rates must satisfy 0 <= floor <= peak and peak > 0; got peak "
              + peak
              + ", floor "
              + floor);
    }
    if (warmupSteps < 0 || totalSteps <= warmupSteps) {
      throw new IllegalArgumentException(
          "Need 0 <= warmupSteps < totalSteps; got " + warmupSteps + " and " + totalSteps);
    }
  }

  /** The learning rate of step {@code step} (0-based). */
  public double at(int step) {
    if (step < warmupSteps) {
      return peak * (step + 1) / warmupSteps;
    }
    if (step >= totalSteps) {
      return floor;
    }
    double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
    return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
  }
}
