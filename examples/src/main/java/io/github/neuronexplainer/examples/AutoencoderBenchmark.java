package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Encoding throughput of a sparse autoencoder shaped like OpenAI's GPT-2 small MLP autoencoders
 * (32768 latents on 3072-wide MLP activations), with random weights, as a fraction of the matmul
 * limit measured in the same run: the bare product {@code x · encoderᵀ} of the same shapes, which
 * is the floor of any encoder ({@code encode} adds the pre-bias subtraction, the latent bias and
 * the activation).
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.AutoencoderBenchmark \
 *     -Dexec.args="[tokens=512] [repeats=10]"
 * </pre>
 */
public final class AutoencoderBenchmark {
  private static final int N_INPUTS = 3072;
  private static final int N_LATENTS = 32768;

  private AutoencoderBenchmark() {}

  public static void main(String[] args) {
    int tokens = args.length > 0 ? Integer.parseInt(args[0]) : 512;
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    try (NDManager manager = NDManager.newBaseManager()) {
      manager.getEngine().setRandomSeed(1234);
      NDArray x = manager.randomNormal(new Shape(tokens, N_INPUTS));
      double scale = 1 / Math.sqrt(N_INPUTS);
      try (NDManager init = manager.newSubManager();
          Autoencoder relu = randomAutoencoder(init, LatentActivation.RELU, scale, manager);
          Autoencoder topK =
              randomAutoencoder(
                  init, LatentActivation.topK(32, LatentActivation.RELU), scale, manager)) {
        NDArray encoderT = relu.encoderWeight(manager).transpose();
        List<Function<NDArray, NDArray>> calls =
            List.of(in -> in.matMul(encoderT), relu::encode, topK::encode);
        double[] best = bestSeconds(repeats, x, calls);
        double matmulSeconds = best[0];
        double reluSeconds = best[1];
        double topKSeconds = best[2];
        double flops = 2.0 * tokens * N_INPUTS * N_LATENTS;
        double limit = tokens / matmulSeconds;
        System.out.printf(
            "SAE %d latents x %d inputs, %d tokens per call, %d threads (best of %d)%n",
            N_LATENTS, N_INPUTS, tokens, Runtime.getRuntime().availableProcessors(), repeats);
        System.out.printf(
            "matmul limit      : %,12.0f tokens/s  (%.1f GFLOP/s)%n",
            limit, flops / matmulSeconds / 1e9);
        report("encode ReLU       ", tokens / reluSeconds, limit);
        report("encode TopK(k=32) ", tokens / topKSeconds, limit);
      }
    }
  }

  private static void report(String what, double tokensPerSecond, double limit) {
    System.out.printf(
        "%s: %,12.0f tokens/s  = %.2f of the matmul limit%n",
        what, tokensPerSecond, tokensPerSecond / limit);
  }

  private static Autoencoder randomAutoencoder(
      NDManager init, LatentActivation activation, double scale, NDManager owner) {
    NDArray encoder = init.randomNormal(new Shape(N_LATENTS, N_INPUTS)).mul(scale);
    Autoencoder ae =
        Autoencoder.of(
            init.randomNormal(new Shape(N_INPUTS)).mul(0.01),
            encoder,
            init.randomNormal(new Shape(N_LATENTS)).mul(0.01),
            encoder.transpose(),
            activation,
            owner);
    encoder.close();
    return ae;
  }

  /**
   * Best wall time of each call over {@code repeats} rounds after one warm-up round. The calls are
   * interleaved within a round, so load from other processes affects them alike and the ratios stay
   * meaningful. Each call gets its own copy of the input in a sub-manager, so its intermediates are
   * freed right after it.
   */
  private static double[] bestSeconds(
      int repeats, NDArray x, List<Function<NDArray, NDArray>> calls) {
    double[] best = new double[calls.size()];
    Arrays.fill(best, Double.MAX_VALUE);
    for (int round = 0; round <= repeats; round++) {
      for (int c = 0; c < calls.size(); c++) {
        try (NDManager m = x.getManager().newSubManager()) {
          NDArray input = x.duplicate();
          input.attach(m);
          long start = System.nanoTime();
          NDArray result = calls.get(c).apply(input);
          result.getFloat(0, 0); // waits for the result
          double s = (System.nanoTime() - start) / 1e9;
          if (round > 0) {
            best[c] = Math.min(best[c], s);
          }
        }
      }
    }
    return best;
  }
}
