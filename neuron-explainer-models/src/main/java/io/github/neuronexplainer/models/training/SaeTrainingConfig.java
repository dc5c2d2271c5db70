package io.github.neuronexplainer.models.training;

/**
 * How {@link TopKSaeTrainer} trains a TopK sparse autoencoder (OpenAI's recipe, "Scaling and
 * evaluating sparse autoencoders", Gao et al. 2024): TopK activation, an AuxK loss that makes dead
 * latents reconstruct the residual error, unit-norm decoder columns (gradients parallel to them
 * projected out), a pre-encoder bias initialised to the data mean, Adam without weight decay. Build
 * one with {@link #builder(int, int)}.
 *
 * <p>Thread-safety: immutable.
 *
 * @param nLatents latents (dictionary size)
 * @param k active latents per token
 * @param auxK latents the AuxK loss draws from the dead ones (OpenAI: a power of two near {@code
 *     nInputs / 2})
 * @param auxKCoefficient weight of the AuxK loss (OpenAI: 1/32)
 * @param deadAfterTokens a latent is dead once it has not fired for this many tokens
 * @param batchSize tokens per step
 * @param steps optimizer steps
 * @param learningRate Adam's learning rate (constant)
 * @param seed seed of the initial dictionary
 */
public record SaeTrainingConfig(
    int nLatents,
    int k,
    int auxK,
    double auxKCoefficient,
    long deadAfterTokens,
    int batchSize,
    int steps,
    double learningRate,
    long seed) {

  public SaeTrainingConfig {
    if (nLatents < 1 || k < 1 || k > nLatents || auxK < 0 || auxK > nLatents) {
      throw new IllegalArgumentException(
          "Need 1 <= k <= nLatents and 0 <= auxK <= nLatents; got nLatents "
              + nLatents
              + ", k "
              + k
              + ", auxK "
              + auxK);
    }
    if (batchSize < 1
        || steps < 1
        || !(learningRate > 0)
        || auxKCoefficient < 0
        || deadAfterTokens < 1) {
      throw new IllegalArgumentException(
          "batchSize, steps, learningRate and deadAfterTokens must be positive and auxKCoefficient >= 0");
    }
  }

  public static Builder builder(int nLatents, int k) {
    return new Builder(nLatents, k);
  }

  /**
   * Builder with defaults: auxK = min(256, nLatents), coefficient 1/32, dead after 50,000 tokens,
   * batch 1024, 1000 steps, lr 1e-3.
   */
  public static final class Builder {
    private final int nLatents;
    private final int k;
    private int auxK = -1;
    private double auxKCoefficient = 1.0 / 32;
    private long deadAfterTokens = 50_000;
    private int batchSize = 1024;
    private int steps = 1000;
    private double learningRate = 1e-3;
    private long seed = 1234;

    private Builder(int nLatents, int k) {
      this.nLatents = nLatents;
      this.k = k;
    }

    public Builder auxK(int v) {
      this.auxK = v;
      return this;
    }

    public Builder auxKCoefficient(double v) {
      this.auxKCoefficient = v;
      return this;
    }

    public Builder deadAfterTokens(long v) {
      this.deadAfterTokens = v;
      return this;
    }

    public Builder batchSize(int v) {
      this.batchSize = v;
      return this;
    }

    public Builder steps(int v) {
      this.steps = v;
      return this;
    }

    public Builder learningRate(double v) {
      this.learningRate = v;
      return this;
    }

    public Builder seed(long v) {
      this.seed = v;
      return this;
    }

    public SaeTrainingConfig build() {
      return new SaeTrainingConfig(
          nLatents,
          k,
          auxK < 0 ? Math.min(256, nLatents) : auxK,
          auxKCoefficient,
          deadAfterTokens,
          batchSize,
          steps,
          learningRate,
          seed);
    }
  }
}
