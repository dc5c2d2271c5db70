package io.github.neuronexplainer.models.training;

/**
 * One step of {@link TopKSaeTrainer#train}: what a progress callback receives.
 *
 * @param step the step just completed (1-based)
 * @param steps steps in all
 * @param fractionOfVarianceUnexplained this batch's {@code Σ‖x̂−x‖² / Σ‖x−x̄‖²}
 * @param auxLoss this batch's AuxK loss (0 while no latent is dead)
 * @param deadFraction fraction of latents that have not fired for {@code deadAfterTokens}
 * @param tokensPerSecond throughput of this step (excluding producing the activations)
 */
public record SaeProgress(
    int step,
    int steps,
    double fractionOfVarianceUnexplained,
    double auxLoss,
    double deadFraction,
    double tokensPerSecond) {}
