package io.github.neuronexplainer.explanations.batch;

import io.github.neuronexplainer.core.io.SafePaths;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.NeuronSimulationResults;
import io.github.neuronexplainer.core.records.ScoredExplanation;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.client.UsageTotals;
import io.github.neuronexplainer.explanations.scoring.Scoring;
import io.github.neuronexplainer.explanations.simulator.NeuronSimulator;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Explains and scores many neurons: for each record, explanations from its train split, each scored
 * on its valid split; a neuron's {@link NeuronSimulationResults} is appended to the output
 * JSON-lines file (fast_dataclasses format) as soon as it finishes, failures to {@code
 * <output>.failures.jsonl}. A rerun skips neurons already in the output and retries failed ones. At
 * most {@code maxConcurrentNeurons} are in progress at once; the client bounds HTTP concurrency.
 * One runner may serve one {@link #run} at a time.
 */
public final class BatchRunner {
  private static final Logger LOG = LoggerFactory.getLogger(BatchRunner.class);

  /** Produces explanations for a neuron's train records. */
  @FunctionalInterface
  public interface Explainer {
    CompletableFuture<List<String>> explain(List<ActivationRecord> trainRecords);
  }

  /** Builds (and, if needed, calibrates) a simulator for an explanation of a neuron. */
  @FunctionalInterface
  public interface SimulatorFactory {
    CompletableFuture<NeuronSimulator> create(String explanation, NeuronRecord record);
  }

  private final Explainer explainer;
  private final SimulatorFactory simulatorFactory;
  private final ActivationRecordSliceParams sliceParams;
  private final int maxConcurrentNeurons;
  private final Path output;
  private final Consumer<BatchProgress> progress;
  private final Supplier<UsageTotals> usageSource;

  private BatchRunner(Builder b) {
    this.explainer = Objects.requireNonNull(b.explainer, "explainer");
    this.simulatorFactory = Objects.requireNonNull(b.simulatorFactory, "simulatorFactory");
    this.sliceParams = b.sliceParams;
    this.maxConcurrentNeurons = b.maxConcurrentNeurons;
    this.output = Objects.requireNonNull(b.output, "output").toAbsolutePath().normalize();
    if (output.getParent() == null) {
      throw new IllegalArgumentException(
          "The batch output must be a file inside a folder, got " + b.output);
    }
    SafePaths.checkRelative(output.getFileName().toString(), "batch output file name");
    this.progress = b.progress == null ? p -> {} : b.progress;
    this.usageSource = b.usageSource;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Builder; not thread-safe. */
  public static final class Builder {
    private Explainer explainer;
    private SimulatorFactory simulatorFactory;
    private ActivationRecordSliceParams sliceParams = new ActivationRecordSliceParams(5);
    private int maxConcurrentNeurons = 4;
    private Path output;
    private Consumer<BatchProgress> progress;
    private Supplier<UsageTotals> usageSource;

    public Builder explainer(Explainer v) {
      explainer = v;
      return this;
    }

    /**
     * Uncalibrated simulators need no calibration: {@code (e, r) -> completedFuture(new ...(client,
     * e, ...))}.
     */
    public Builder simulatorFactory(SimulatorFactory v) {
      simulatorFactory = v;
      return this;
    }

    /** Split sizes (the activation server uses 5 per split). */
    public Builder sliceParams(ActivationRecordSliceParams v) {
      sliceParams = v;
      return this;
    }

    public Builder maxConcurrentNeurons(int v) {
      maxConcurrentNeurons = v;
      return this;
    }

    /** The JSON-lines results file (appended to). */
    public Builder output(Path v) {
      output = v;
      return this;
    }

    /**
     * Called after every neuron, one call at a time, from the thread that finished it; keep it
     * quick.
     */
    public Builder progress(Consumer<BatchProgress> v) {
      progress = v;
      return this;
    }

    /** Where to read token usage from, e.g. {@code client::usage}. */
    public Builder usageSource(Supplier<UsageTotals> v) {
      usageSource = v;
      return this;
    }

    public BatchRunner build() {
      if (maxConcurrentNeurons < 1) {
        throw new IllegalArgumentException("maxConcurrentNeurons must be >= 1");
      }
      return new BatchRunner(this);
    }
  }

  /** The failures file next to the output. */
  public Path failuresFile() {
    return SafePaths.resolveInside(
        output.getParent(), output.getFileName() + ".failures.jsonl", "failures file name");
  }

  /** Neurons already in the output file (a truncated last line is ignored). */
  public Set<NeuronId> completedNeurons() {
    Set<NeuronId> done = new HashSet<>();
    if (!Files.isRegularFile(output)) {
      return done;
    }
    try {
      for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        try {
          done.add(FastDataclassJson.loads(line, NeuronSimulationResults.class).neuronId());
        } catch (IllegalArgumentException e) {
          LOG.warn(
              "Ignoring an unreadable line in {} (interrupted run?): {}", output, e.getMessage());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + output, e);
    }
    return done;
  }

  /** Runs the batch and blocks until every neuron has finished or failed. */
  public BatchSummary run(List<NeuronRecord> records) {
    UsageTotals before = usageSource == null ? null : usageSource.get();
    Set<NeuronId> done = completedNeurons();
    List<NeuronRecord> todo = records.stream().filter(r -> !done.contains(r.neuronId())).toList();
    int skipped = records.size() - todo.size();
    Map<NeuronId, Double> best = new LinkedHashMap<>();
    List<BatchSummary.Failure> failures = new ArrayList<>();
    int[] counts = new int[2];
    Semaphore permits = new Semaphore(maxConcurrentNeurons);
    List<CompletableFuture<Void>> all = new ArrayList<>();
    try (BufferedWriter out =
            Files.newBufferedWriter(
                output,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        BufferedWriter failOut =
            Files.newBufferedWriter(
                failuresFile(),
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      for (NeuronRecord record : todo) {
        permits.acquireUninterruptibly();
        CompletableFuture<NeuronSimulationResults> f;
        try {
          f = processNeuron(record);
        } catch (RuntimeException e) {
          f = CompletableFuture.failedFuture(e);
        }
        all.add(
            f.handle(
                (result, error) -> {
                  synchronized (this) {
                    String message = null;
                    try {
                      if (error == null) {
                        out.write(FastDataclassJson.dumps(result));
                        out.newLine();
                        out.flush();
                        best.put(record.neuronId(), bestScore(result));
                        counts[0]++;
                      } else {
                        message = LlmClient.unwrap(error).toString();
                        Map<String, Object> line = new LinkedHashMap<>();
                        line.put("neuron_id", record.neuronId());
                        line.put("error", message);
                        failOut.write(FastDataclassJson.dumps(line));
                        failOut.newLine();
                        failOut.flush();
                        failures.add(new BatchSummary.Failure(record.neuronId(), message));
                        counts[1]++;
                        LOG.warn("Neuron {} failed: {}", record.neuronId(), message);
                      }
                    } catch (IOException e) {
                      throw new UncheckedIOException("Cannot append to " + output, e);
                    } finally {
                      permits.release();
                    }
                    progress.accept(
                        new BatchProgress(
                            counts[0] + counts[1],
                            counts[0],
                            counts[1],
                            skipped,
                            records.size(),
                            record.neuronId(),
                            message));
                  }
                  return null;
                }));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open " + output, e);
    }
    UsageTotals usage = usageSource == null ? null : usageSource.get().minus(before);
    return new BatchSummary(
        records.size(),
        skipped,
        counts[0],
        List.copyOf(failures),
        Map.copyOf(nonNullKeys(best)),
        usage);
  }

  private static Map<NeuronId, Double> nonNullKeys(Map<NeuronId, Double> m) {
    Map<NeuronId, Double> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v == null ? Double.NaN : v));
    return out;
  }

  private static Double bestScore(NeuronSimulationResults r) {
    Double best = null;
    for (ScoredExplanation e : r.scoredExplanations()) {
      Double s = e.preferredScore();
      if (s != null && (best == null || s > best)) {
        best = s;
      }
    }
    return best;
  }

  private CompletableFuture<NeuronSimulationResults> processNeuron(NeuronRecord record) {
    List<ActivationRecord> train = record.trainActivationRecords(sliceParams);
    List<ActivationRecord> valid = record.validActivationRecords(sliceParams);
    return explainer
        .explain(train)
        .thenCompose(
            explanations -> {
              List<CompletableFuture<ScoredExplanation>> scored = new ArrayList<>();
              for (String explanation : explanations) {
                scored.add(
                    simulatorFactory
                        .create(explanation, record)
                        .thenCompose(sim -> Scoring.simulateAndScore(sim, valid))
                        .thenApply(s -> new ScoredExplanation(explanation, s)));
              }
              return CompletableFuture.allOf(scored.toArray(CompletableFuture[]::new))
                  .thenApply(
                      ignored ->
                          new NeuronSimulationResults(
                              record.neuronId(),
                              scored.stream().map(CompletableFuture::join).toList()));
            });
  }

  /** Reads back the results file (for reports). */
  public List<NeuronSimulationResults> readResults() {
    List<NeuronSimulationResults> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(output, StandardCharsets.UTF_8)) {
        if (!line.isBlank()) {
          out.add(FastDataclassJson.loads(line, NeuronSimulationResults.class));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }
}
