package io.github.neuronexplainer.models.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Trains a TopK sparse autoencoder with OpenAI's recipe (see {@link SaeTrainingConfig}):
 *
 * <pre>
 *   z    = TopK_k(W_enc (x − b_pre) + b_lat)          x̂ = W_dec z + b_pre
 *   L    = ‖x̂ − x‖² / ‖x − x̄‖²  +  α · ‖W_dec z_aux − e‖² / ‖e − ē‖²
 * </pre>
 *
 * where {@code e = x − x̂} (not differentiated) and {@code z_aux} keeps the {@code auxK} largest
 * pre-activations among dead latents. The decoder's columns are kept at unit norm: before each
 * update the gradient component parallel to each column is removed, after it the columns are
 * renormalised. {@code b_pre} starts at the first batch's mean, the encoder at the decoder's
 * transpose. The TopK is the inference code's own ({@link LatentActivation.TopK}).
 *
 * <p>Memory: parameters and Adam moments live in this trainer's manager until {@link #close()};
 * each step runs in its own sub-manager and {@link NDScope}.
 *
 * <p>Thread-safety: not thread-safe; DJL allows one gradient collector per JVM at a time.
 */
public final class TopKSaeTrainer implements AutoCloseable {
  private final SaeTrainingConfig config;
  private final int nInputs;
  private final NDManager manager;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();
  private final AdamW optimizer;
  private final long[] tokensSinceFired;
  private int completedSteps;

  public TopKSaeTrainer(SaeTrainingConfig config, int nInputs, NDManager parent) {
    if (nInputs < 1) {
      throw new IllegalArgumentException("nInputs must be >= 1, got " + nInputs);
    }
    this.config = config;
    this.nInputs = nInputs;
    this.manager = parent.newSubManager();
    int m = config.nLatents();
    Random random = new Random(config.seed());
    float[] decoder = new float[nInputs * m]; // [n, m]: column j is latent j's direction
    for (int j = 0; j < m; j++) {
      double norm = 0;
      for (int i = 0; i < nInputs; i++) {
        float v = (float) random.nextGaussian();
        decoder[i * m + j] = v;
        norm += v * v;
      }
      for (int i = 0; i < nInputs; i++) {
        decoder[i * m + j] /= (float) Math.sqrt(norm);
      }
    }
    NDArray dec = manager.create(decoder, new Shape(nInputs, m));
    parameters.put("pre_bias", manager.zeros(new Shape(nInputs)));
    parameters.put("encoder.weight", dec.transpose().duplicate());
    parameters.put("latent_bias", manager.zeros(new Shape(m)));
    parameters.put("decoder.weight", dec);
    for (NDArray p : parameters.values()) {
      p.setRequiresGradient(true);
    }
    this.optimizer = new AdamW(0.9, 0.999, 1e-8, 0, Set.of(), manager);
    this.tokensSinceFired = new long[m];
  }

  /** Trains for {@code config.steps()} steps on batches from {@code source}. */
  public SaeProgress train(ActivationBatches source, Consumer<SaeProgress> progress) {
    SaeProgress last = null;
    while (completedSteps < config.steps()) {
      try (NDManager stepManager = manager.newSubManager();
          NDScope scope = new NDScope()) {
        NDArray x = source.next(config.batchSize(), stepManager);
        if (x.getShape().dimension() != 2 || x.getShape().get(1) != nInputs) {
          throw new IllegalArgumentException(
              "Activation batches must be [batch, " + nInputs + "]; got " + x.getShape());
        }
        long fetched = System.nanoTime();
        double[] losses = step(x, stepManager);
        completedSteps++;
        double seconds = (System.nanoTime() - fetched) / 1e9;
        last =
            new SaeProgress(
                completedSteps,
                config.steps(),
                losses[0],
                losses[1],
                deadFraction(),
                x.getShape().get(0) / Math.max(seconds, 1e-9));
      }
      progress.accept(last);
    }
    return last;
  }

  private double[] step(NDArray x, NDManager m) {
    NDArray preBias = parameters.get("pre_bias");
    NDArray encoder = parameters.get("encoder.weight");
    NDArray latentBias = parameters.get("latent_bias");
    NDArray decoder = parameters.get("decoder.weight");
    if (completedSteps == 0) {
      NDArray mean = x.mean(new int[] {0});
      preBias.subi(preBias).addi(mean);
    }
    int nDead = 0;
    float[] deadMask = new float[config.nLatents()];
    for (int j = 0; j < deadMask.length; j++) {
      if (tokensSinceFired[j] >= config.deadAfterTokens()) {
        deadMask[j] = 1;
        nDead++;
      }
    }
    double fvu;
    double aux = 0;
    NDArray latents;
    try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
      NDArray pre = x.sub(preBias).matMul(encoder.transpose()).add(latentBias);
      latents = new LatentActivation.TopK(config.k(), new LatentActivation.Relu()).apply(pre);
      NDArray reconstruction = latents.matMul(decoder.transpose()).add(preBias);
      NDArray variance = x.sub(x.mean(new int[] {0}, true)).square().sum().stopGradient();
      NDArray loss = reconstruction.sub(x).square().sum().div(variance);
      fvu = loss.getFloat();
      int kAux = Math.min(config.auxK(), nDead);
      if (kAux > 0 && config.auxKCoefficient() > 0) {
        NDArray notDead = m.create(deadMask).neg().add(m.create(1f)).mul(m.create(-1e30f));
        NDArray auxLatents =
            new LatentActivation.TopK(kAux, new LatentActivation.Relu()).apply(pre.add(notDead));
        NDArray residual = x.sub(reconstruction).stopGradient();
        NDArray residualVariance =
            residual.sub(residual.mean(new int[] {0}, true)).square().sum().stopGradient();
        NDArray auxLoss =
            auxLatents
                .matMul(decoder.transpose())
                .sub(residual)
                .square()
                .sum()
                .div(residualVariance);
        aux = auxLoss.getFloat();
        loss = loss.add(auxLoss.mul(m.create((float) config.auxKCoefficient())));
      }
      collector.backward(loss);
    }
    float[] fired =
        latents
            .stopGradient()
            .gt(0f)
            .toType(DataType.FLOAT32, false)
            .sum(new int[] {0})
            .toFloatArray();
    long tokens = x.getShape().get(0);
    for (int j = 0; j < fired.length; j++) {
      tokensSinceFired[j] = fired[j] > 0 ? 0 : tokensSinceFired[j] + tokens;
    }
    Map<String, NDArray> gradients = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      NDArray g = e.getValue().getGradient();
      g.attach(m);
      gradients.put(e.getKey(), g);
    }
    // keep the decoder on the unit sphere: drop the gradient along each column, step, renormalise
    NDArray gDec = gradients.get("decoder.weight");
    NDArray parallel = gDec.mul(decoder).sum(new int[] {0}, true);
    gradients.put("decoder.weight", gDec.sub(decoder.mul(parallel)));
    optimizer.step(parameters, gradients, config.learningRate());
    decoder.divi(decoder.norm(new int[] {0}, true));
    for (NDArray p : parameters.values()) {
      JniUtils.zeroGrad((PtNDArray) p);
    }
    return new double[] {fvu, aux};
  }

  private double deadFraction() {
    int dead = 0;
    for (long t : tokensSinceFired) {
      if (t >= config.deadAfterTokens()) {
        dead++;
      }
    }
    return (double) dead / tokensSinceFired.length;
  }

  /** Steps completed. */
  public int completedSteps() {
    return completedSteps;
  }

  /**
   * The trained autoencoder, in the original's format (TopK with ReLU), as a copy owned by {@code
   * parent}; save it with {@link Autoencoder#saveSafetensors}.
   */
  public Autoencoder toAutoencoder(NDManager parent) {
    return Autoencoder.of(
        parameters.get("pre_bias").stopGradient(),
        parameters.get("encoder.weight").stopGradient(),
        parameters.get("latent_bias").stopGradient(),
        parameters.get("decoder.weight").stopGradient(),
        new LatentActivation.TopK(config.k(), new LatentActivation.Relu()),
        parent);
  }

  @Override
  public void close() {
    manager.close();
  }
}
