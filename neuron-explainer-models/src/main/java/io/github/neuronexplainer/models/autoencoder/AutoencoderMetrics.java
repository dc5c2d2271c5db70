package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Gpt2Tokenizer;
import io.github.neuronexplainer.models.PadSide;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.TokenBatch;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Quality metrics of a sparse autoencoder on a model and a batch of texts — beyond the original,
 * which publishes no numbers for its GPT-2 autoencoders. Over the {@code T} non-pad tokens of the
 * batch, with {@code x} the activation at the autoencoder's input location and layer, {@code z =
 * encode(x)} the latents and {@code x̂ = decode(z)} the reconstruction:
 *
 * <ul>
 *   <li><b>L0</b>: mean number of nonzero latents per token, {@code (1/T) Σ_t |{i : z_ti ≠ 0}|};
 *   <li><b>dead fraction</b>: fraction of latents that are zero on every token of the batch;
 *   <li><b>dense fraction</b>: fraction of latents nonzero on more than {@code denseThreshold} of
 *       the tokens (default {@value #DEFAULT_DENSE_THRESHOLD});
 *   <li><b>normalized MSE</b>, the definition of OpenAI's {@code sparse_autoencoder} repository
 *       ({@code normalized_mean_squared_error}): per token {@code mean_i (x̂_ti − x_ti)² / mean_i
 *       x_ti²}, averaged over tokens (undefined for a token whose activation is all zero);
 *   <li><b>fraction of variance unexplained</b> (FVU), the paper's definition ("Scaling and
 *       evaluating sparse autoencoders", normalised by the variance rather than the second moment):
 *       {@code Σ_t ‖x̂_t − x_t‖² / Σ_t ‖x_t − x̄‖²}, with {@code x̄} the mean activation over the
 *       batch's tokens;
 *   <li><b>next-token cross-entropy</b> (nats, mean over the positions whose next token is not
 *       padding) of the plain model, of the model with the reconstruction replacing the activation
 *       at that layer ({@link AutoencoderSplice} with the error term off), and of the model with
 *       the activation zero-ablated there; {@link Report#splicedLossIncrease()} and {@link
 *       Report#zeroAblationLossIncrease()} are their differences to the plain model, {@link
 *       Report#lossRecovered()} the fraction of the zero-ablation increase that the reconstruction
 *       recovers.
 * </ul>
 *
 * <p>Thread-safety: stateless; calls may run concurrently on different threads (each pass runs on
 * its calling thread with its own managers).
 */
public final class AutoencoderMetrics {
  /** Latents active on more than this fraction of tokens count as dense. */
  public static final double DEFAULT_DENSE_THRESHOLD = 0.1;

  private AutoencoderMetrics() {}

  /**
   * The metrics of one evaluation.
   *
   * @param tokens number of non-pad tokens the latent statistics are over
   * @param positions number of next-token predictions the losses are averaged over
   * @param l0 mean nonzero latents per token
   * @param deadFraction fraction of latents never active on the batch
   * @param denseFraction fraction of latents active on more than {@code denseThreshold} of tokens
   * @param denseThreshold the threshold used
   * @param normalizedMse mean over tokens of {@code mean (x̂−x)² / mean x²}
   * @param fractionOfVarianceUnexplained {@code Σ‖x̂−x‖² / Σ‖x−x̄‖²}
   * @param loss plain model's next-token cross-entropy (nats)
   * @param splicedLoss with the reconstruction in place of the activation
   * @param zeroAblationLoss with the activation set to zero
   */
  public record Report(
      int tokens,
      int positions,
      double l0,
      double deadFraction,
      double denseFraction,
      double denseThreshold,
      double normalizedMse,
      double fractionOfVarianceUnexplained,
      double loss,
      double splicedLoss,
      double zeroAblationLoss) {
    /** {@code splicedLoss − loss}. */
    public double splicedLossIncrease() {
      return splicedLoss - loss;
    }

    /** {@code zeroAblationLoss − loss}. */
    public double zeroAblationLossIncrease() {
      return zeroAblationLoss - loss;
    }

    /**
     * {@code (zeroAblationLoss − splicedLoss) / (zeroAblationLoss − loss)}: 1 when the
     * reconstruction is as good as the activation, 0 when it is as bad as zero; NaN when zero
     * ablation does not change the loss.
     */
    public double lossRecovered() {
      double denominator = zeroAblationLoss - loss;
      return denominator == 0 ? Double.NaN : (zeroAblationLoss - splicedLoss) / denominator;
    }
  }

  /**
   * {@link #evaluate(Transformer, SparseAutoencoder, ActivationLocationType, int, List, double,
   * NDManager)} of texts tokenized with the model's GPT-2 tokenizer.
   */
  public static Report evaluateTexts(
      Transformer model,
      SparseAutoencoder autoencoder,
      ActivationLocationType input,
      int layer,
      List<String> texts,
      NDManager manager) {
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.forEncoding(model.config().enc());
    List<int[]> prompts = new ArrayList<>();
    for (String text : texts) {
      prompts.add(tokenizer.encode(text));
    }
    return evaluate(model, autoencoder, input, layer, prompts, DEFAULT_DENSE_THRESHOLD, manager);
  }

  /**
   * Evaluates {@code autoencoder}, trained on {@code input} at {@code layer}, on right-padded
   * {@code prompts} (at least one needs two tokens, for the losses).
   *
   * @param manager parent of the temporary managers; nothing is left attached to it
   * @throws IllegalArgumentException if the input cannot be spliced, or the widths disagree
   */
  public static Report evaluate(
      Transformer model,
      SparseAutoencoder autoencoder,
      ActivationLocationType input,
      int layer,
      List<int[]> prompts,
      double denseThreshold,
      NDManager manager) {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("Give at least one prompt");
    }
    HookPoint point = HookPoint.forLocation(input);
    AutoencoderContext single = new SingleLayerContext(input, layer, autoencoder);
    Hooks spliced = AutoencoderSplice.of(single, false).hooks();
    Hooks zeroAblated =
        Hooks.builder().forward(point, Set.of(layer), (x, ctx) -> x.zerosLike()).build();
    TokenBatch batch = TokenBatch.of(prompts, PadSide.RIGHT);
    try (NDManager m = manager.newSubManager()) {
      RunRequest request =
          RunRequest.builder().prompts(prompts).forward(point).layers(Set.of(layer)).build();
      double loss;
      NDArray x;
      try (ActivationCache cache = model.runWithCache(request, m)) {
        x = cache.get(point, layer, PassType.FORWARD).duplicate();
        x.attach(m);
        loss = crossEntropy(cache.logits(), batch, m);
      }
      long n = x.getShape().get(x.getShape().dimension() - 1);
      if (n != autoencoder.nInputs()) {
        throw new IllegalArgumentException(
            "The autoencoder reads "
                + autoencoder.nInputs()
                + " inputs but "
                + input
                + " at layer "
                + layer
                + " has "
                + n);
      }
      NDArray tokens = nonPadRows(x.reshape(-1, n), batch, m);
      NDArray latents = autoencoder.encode(tokens);
      NDArray reconstruction = autoencoder.decode(latents);
      int t = Math.toIntExact(tokens.getShape().get(0));
      NDArray active = latents.neq(0f).toType(DataType.FLOAT32, false);
      float[] perLatent = active.sum(new int[] {0}).toFloatArray();
      double activeTotal = 0;
      int dead = 0;
      int dense = 0;
      for (float count : perLatent) {
        activeTotal += count;
        if (count == 0) {
          dead++;
        }
        if (count / t > denseThreshold) {
          dense++;
        }
      }
      NDArray squaredError = reconstruction.sub(tokens).square();
      double normalizedMse =
          squaredError
              .mean(new int[] {1})
              .div(tokens.square().mean(new int[] {1}))
              .mean()
              .getFloat();
      double sse = squaredError.sum().toType(DataType.FLOAT64, false).getDouble();
      NDArray centered = tokens.sub(tokens.mean(new int[] {0}, true));
      double variance = centered.square().sum().toType(DataType.FLOAT64, false).getDouble();
      double splicedLoss = crossEntropy(model.logits(prompts, spliced, m), batch, m);
      double zeroLoss = crossEntropy(model.logits(prompts, zeroAblated, m), batch, m);
      return new Report(
          t,
          predictedPositions(batch),
          activeTotal / t,
          (double) dead / perLatent.length,
          (double) dense / perLatent.length,
          denseThreshold,
          normalizedMse,
          sse / variance,
          loss,
          splicedLoss,
          zeroLoss);
    }
  }

  /** Mean next-token cross-entropy of right-padded {@code logits [b, s, vocab]}. */
  static double crossEntropy(NDArray logits, TokenBatch batch, NDManager m) {
    int b = batch.batchSize();
    int s = batch.length();
    if (s < 2) {
      throw new IllegalArgumentException("The losses need prompts of at least two tokens");
    }
    long[] next = new long[b * (s - 1)];
    float[] weight = new float[b * (s - 1)];
    int count = 0;
    for (int i = 0; i < b; i++) {
      for (int j = 0; j + 1 < s; j++) {
        int k = i * (s - 1) + j;
        next[k] = batch.tokens()[i * s + j + 1];
        boolean valid = !batch.pad()[i * s + j] && !batch.pad()[i * s + j + 1];
        weight[k] = valid ? 1f : 0f;
        count += valid ? 1 : 0;
      }
    }
    if (count == 0) {
      throw new IllegalArgumentException("The losses need prompts of at least two tokens");
    }
    NDArray logProbs = logits.get(new NDIndex(":, :-1, :")).logSoftmax(-1);
    NDArray targets = m.create(next, new Shape(b, s - 1, 1));
    NDArray picked = logProbs.gather(targets, 2).reshape(b, s - 1);
    NDArray weights = m.create(weight, new Shape(b, s - 1));
    return -picked.mul(weights).sum().getFloat() / count;
  }

  private static int predictedPositions(TokenBatch batch) {
    int count = 0;
    int s = batch.length();
    for (int i = 0; i < batch.batchSize(); i++) {
      for (int j = 0; j + 1 < s; j++) {
        if (!batch.pad()[i * s + j] && !batch.pad()[i * s + j + 1]) {
          count++;
        }
      }
    }
    return count;
  }

  private static NDArray nonPadRows(NDArray rows, TokenBatch batch, NDManager m) {
    List<Long> keep = new ArrayList<>();
    for (int i = 0; i < batch.pad().length; i++) {
      if (!batch.pad()[i]) {
        keep.add((long) i);
      }
    }
    long[] index = keep.stream().mapToLong(Long::longValue).toArray();
    return rows.get(new NDIndex("{}", m.create(index)));
  }

  /** One autoencoder at one layer, as a context for {@link AutoencoderSplice}. */
  private record SingleLayerContext(
      ActivationLocationType inputLocation, int layer, SparseAutoencoder autoencoder)
      implements AutoencoderContext {
    @Override
    public NodeType nodeType() {
      return inputLocation.autoencoderLatentNodeType();
    }

    @Override
    public List<Integer> layers() {
      return List.of(layer);
    }

    @Override
    public SparseAutoencoder autoencoder(int l) {
      if (l != layer) {
        throw new IllegalArgumentException("Only layer " + layer + " has an autoencoder");
      }
      return autoencoder;
    }

    @Override
    public int numAutoencoderDirections() {
      return autoencoder.nLatents();
    }
  }
}
