package io.github.neuronexplainer.models.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.models.internal.GradMode;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trains a GPT-2 on a {@link TokenCorpus} with the project's own AdamW, a warm-up + cosine
 * learning-rate schedule and global gradient-norm clipping, through DJL's autograd.
 *
 * <p>Checkpoints: with a checkpoint folder, every {@code checkpointEvery} steps (and at the end)
 * the trainer writes {@code step-<n>/} (the model as a HuggingFace folder in fp32, {@code
 * optimizer.safetensors} with AdamW's moments, {@code trainer_state.json}) and then points {@code
 * latest} at it; older step folders are deleted. A trainer created on a folder that has a {@code
 * latest} checkpoint resumes from it: windows are drawn from a generator seeded by the step, so a
 * resumed run sees the batches an uninterrupted run would.
 *
 * <p>Only the tokens that occur in the corpus get embeddings (the others' rows stay zero), which
 * lets each step compute the exact full-vocabulary loss at a fraction of the cost; see {@link
 * TrainableGpt2#loss}.
 *
 * <p>Memory: each step runs in its own sub-manager and {@link NDScope}, so memory stays flat; the
 * model and optimizer state live until {@link #close()}.
 *
 * <p>Thread-safety: not thread-safe. DJL allows one gradient collector per JVM at a time, so run
 * one trainer at a time.
 */
public final class Gpt2Trainer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Gpt2Trainer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String LATEST = "latest";
  private static final String OPTIMIZER_FILE = "optimizer.safetensors";
  private static final String STATE_FILE = "trainer_state.json";

  private final TrainingConfig config;
  private final TokenCorpus corpus;
  private final Path checkpointDir;
  private final NDManager manager;
  private final TrainableGpt2 model;
  private final AdamW optimizer;
  private final int[] usedTokens;
  private int completedSteps;

  /**
   * A trainer for {@code config} on {@code corpus}; resumes from {@code checkpointDir}'s latest
   * checkpoint if it has one.
   *
   * @param checkpointDir where checkpoints go, or null for none
   * @throws IllegalArgumentException if the checkpoint's model shape differs from {@code config}'s
   */
  public Gpt2Trainer(
      TrainingConfig config, TokenCorpus corpus, Path checkpointDir, NDManager parent) {
    this.config = config;
    this.corpus = corpus;
    this.checkpointDir = checkpointDir;
    this.manager = parent.newSubManager();
    this.usedTokens = corpus.usedTokens();
    Path latest = checkpointDir == null ? null : latestCheckpoint(checkpointDir);
    if (latest == null) {
      this.model = TrainableGpt2.initialise(config.model(), config.seed(), usedTokens, manager);
    } else {
      this.model = TrainableGpt2.load(latest, manager);
      if (!model.config().equals(config.model())) {
        throw new IllegalArgumentException(
            "The checkpoint "
                + latest
                + " holds a model "
                + model.config()
                + " but the config asks for "
                + config.model()
                + "; use another checkpoint folder or the checkpoint's shape");
      }
    }
    this.optimizer =
        new AdamW(
            config.beta1(),
            config.beta2(),
            config.epsilon(),
            config.weightDecay(),
            model.decayedParameterNames(),
            manager);
    if (latest != null) {
      int step = readState(latest).get("step").asInt();
      Map<String, HostTensor> saved =
          SafetensorsFile.read(latest.resolve(OPTIMIZER_FILE)).tensors();
      try (NDManager staging = manager.newSubManager()) {
        Map<String, NDArray> state = new LinkedHashMap<>();
        saved.forEach((k, t) -> state.put(k, t.toNDArray(staging)));
        optimizer.restore(state, step);
      }
      this.completedSteps = step;
      LOG.info("Resuming from {} at step {}", latest, step);
    }
  }

  /** The latest checkpoint in {@code checkpointDir}, or null if it has none. */
  public static Path latestCheckpoint(Path checkpointDir) {
    Path pointer = checkpointDir.resolve(LATEST);
    if (!Files.exists(pointer)) {
      return null;
    }
    try {
      Path folder = checkpointDir.resolve(Files.readString(pointer).strip());
      if (!Files.exists(folder.resolve(STATE_FILE))) {
        throw new IllegalStateException(
            pointer
                + " names "
                + folder
                + ", which has no "
                + STATE_FILE
                + "; delete "
                + pointer
                + " to start afresh");
      }
      return folder;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + pointer, e);
    }
  }

  /** The model being trained (its arrays are the trainer's). */
  public TrainableGpt2 model() {
    return model;
  }

  /** Steps completed so far, including those before a resume. */
  public int completedSteps() {
    return completedSteps;
  }

  /**
   * Trains until {@code config.steps()}, reporting every step to {@code progress}; evaluates and
   * checkpoints as configured, and always at the last step.
   *
   * @return the progress of the last step (with its held-out loss)
   */
  public TrainingProgress train(Consumer<TrainingProgress> progress) {
    LearningRateSchedule schedule = config.schedule();
    TrainingProgress last = null;
    while (completedSteps < config.steps()) {
      long start = System.nanoTime();
      double lr = schedule.at(completedSteps);
      double[] lossAndNorm = step(lr);
      completedSteps++;
      double seconds = (System.nanoTime() - start) / 1e9;
      boolean end = completedSteps == config.steps();
      boolean evaluate =
          end || (config.evalEvery() > 0 && completedSteps % config.evalEvery() == 0);
      double heldOut = evaluate ? heldOutLoss(config.evalWindows()) : Double.NaN;
      last =
          new TrainingProgress(
              completedSteps,
              config.steps(),
              lossAndNorm[0],
              heldOut,
              lr,
              lossAndNorm[1],
              config.tokensPerStep() / seconds);
      progress.accept(last);
      boolean checkpoint =
          end || (config.checkpointEvery() > 0 && completedSteps % config.checkpointEvery() == 0);
      if (checkpoint && checkpointDir != null) {
        saveCheckpoint(last);
      }
    }
    return last;
  }

  /** One optimizer step; returns the batch loss and the gradient norm before clipping. */
  private double[] step(double learningRate) {
    Random random = new Random(config.seed() * 1_000_003L + completedSteps);
    long[][] windows =
        corpus.sampleTrainWindows(random, config.batchSize(), config.model().ctxWindow());
    try (NDManager stepManager = manager.newSubManager();
        NDScope scope = new NDScope()) {
      float loss;
      try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
        NDArray value = model.loss(windows, usedTokens, stepManager);
        collector.backward(value);
        loss = value.getFloat();
      }
      if (!Float.isFinite(loss)) {
        throw new IllegalStateException(
            "The loss became "
                + loss
                + " at step "
                + (completedSteps + 1)
                + "; lower the learning rate or resume from an earlier checkpoint");
      }
      Map<String, NDArray> gradients = model.gradients(stepManager);
      double squares = 0;
      for (NDArray g : gradients.values()) {
        squares += g.square().sum().getFloat();
      }
      double norm = Math.sqrt(squares);
      if (config.gradientClip() > 0 && norm > config.gradientClip()) {
        float scale = (float) (config.gradientClip() / norm);
        Map<String, NDArray> clipped = new LinkedHashMap<>();
        gradients.forEach((k, g) -> clipped.put(k, g.mul(scale)));
        gradients = clipped;
      }
      optimizer.step(model.parameters(), gradients, learningRate);
      model.zeroGradients();
      return new double[] {loss, norm};
    }
  }

  /** Mean loss over up to {@code maxWindows} consecutive held-out windows, without autograd. */
  public double heldOutLoss(int maxWindows) {
    List<long[]> windows = corpus.heldOutWindows(config.model().ctxWindow(), maxWindows);
    double sum = 0;
    int batch = config.batchSize();
    for (int start = 0; start < windows.size(); start += batch) {
      List<long[]> part = windows.subList(start, Math.min(windows.size(), start + batch));
      try (NDManager m = manager.newSubManager();
          NDScope scope = new NDScope()) {
        float loss =
            GradMode.with(
                false, () -> model.loss(part.toArray(long[][]::new), usedTokens, m).getFloat());
        sum += loss * part.size();
      }
    }
    return sum / windows.size();
  }

  private void saveCheckpoint(TrainingProgress progress) {
    Path folder = checkpointDir.resolve("step-" + completedSteps);
    model.save(folder, DType.F32);
    Map<String, HostTensor> state = new LinkedHashMap<>();
    optimizer.state().forEach((k, a) -> state.put(k, TrainableGpt2.toHost(a, DType.F32)));
    SafetensorsFile.write(folder.resolve(OPTIMIZER_FILE), state, Map.of());
    ObjectNode json = JSON.createObjectNode();
    json.put("step", completedSteps);
    json.put("steps", config.steps());
    json.put("tokens_seen", completedSteps * config.tokensPerStep());
    json.put("train_loss", progress.trainLoss());
    if (progress.evaluated()) {
      json.put("held_out_loss", progress.heldOutLoss());
    }
    try {
      Files.writeString(folder.resolve(STATE_FILE), json.toPrettyString());
      Path temp = checkpointDir.resolve(LATEST + ".tmp");
      Files.writeString(temp, folder.getFileName().toString());
      Files.move(
          temp,
          checkpointDir.resolve(LATEST),
          StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
      deleteOtherSteps(folder);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not write the checkpoint " + folder, e);
    }
    LOG.info("Checkpoint {} written", folder);
  }

  private void deleteOtherSteps(Path keep) throws IOException {
    try (Stream<Path> children = Files.list(checkpointDir)) {
      for (Path child : children.toList()) {
        if (child.getFileName().toString().startsWith("step-") && !child.equals(keep)) {
          try (Stream<Path> walk = Files.walk(child)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
              Files.delete(p);
            }
          }
        }
      }
    }
  }

  private static JsonNode readState(Path folder) {
    try {
      return JSON.readTree(folder.resolve(STATE_FILE).toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read " + folder.resolve(STATE_FILE), e);
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
