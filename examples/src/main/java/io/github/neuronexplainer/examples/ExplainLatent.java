package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.ScoredSimulation;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.client.OpenAiClient;
import io.github.neuronexplainer.explanations.explainer.GenerationOptions;
import io.github.neuronexplainer.explanations.explainer.TokenActivationPairExplainer;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.scoring.Scoring;
import io.github.neuronexplainer.explanations.scoring.UncalibratedNeuronSimulator;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.records.NeuronRecordCollector;
import io.github.neuronexplainer.models.records.RecordUnits;
import io.github.neuronexplainer.models.training.TokenCorpus;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The whole explanation pipeline on the shipped toy model and its SAE: stream held-out King James
 * text through the model, collect the original's neuron records for every SAE latent, explain one
 * latent with an LLM from its top excerpts, simulate the latent from the explanation on held-out
 * excerpts and score the simulation against the real activations.
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.ExplainLatent \
 *     -Dexec.args="--url https://api.openai.com/v1 --model gpt-4o-mini"      # key from $OPENAI_API_KEY
 * </pre>
 *
 * Options: {@code --url} (default $OPENAI_BASE_URL or OpenAI's), {@code --key} (default
 * $OPENAI_API_KEY; an empty key sends none, for local servers), {@code --model} (default
 * gpt-4o-mini), {@code --latent} (default: the latent with the largest activation), {@code
 * --tokens} (corpus tokens to read, default 8192), {@code --model-dir} (default models/kjv-gpt2).
 * The simulator asks for JSON (no logprobs), so any chat-completions endpoint serves.
 */
public final class ExplainLatent {
  static final String SAE_FILE = "sae-resid-delta-mlp-layer1.safetensors";
  static final String CORPUS_FILE = "kjv-held-out.txt.gz";
  private static final ActivationLocationType SAE_INPUT = ActivationLocationType.RESID_DELTA_MLP;
  private static final int SAE_LAYER = 1;
  private static final ActivationRecordSliceParams SPLITS = new ActivationRecordSliceParams(5);

  private ExplainLatent() {}

  /** What to run. {@code latent} null picks the latent with the largest activation. */
  record Options(Path modelDir, int tokens, Integer latent) {}

  /** What the pipeline produced. */
  record Result(
      int latent,
      int records,
      long tokens,
      double tokensPerSecond,
      NeuronRecord record,
      String explanation,
      ScoredSimulation scored) {}

  public static void main(String[] args) {
    String url = null;
    String key = System.getenv("OPENAI_API_KEY");
    String model = "gpt-4o-mini";
    Path modelDir = Path.of(WhyThisToken.TOY_MODEL);
    int tokens = 8192;
    Integer latent = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      String value = args[i + 1];
      switch (args[i]) {
        case "--url" -> url = value;
        case "--key" -> key = value;
        case "--model" -> model = value;
        case "--model-dir" -> modelDir = Path.of(value);
        case "--tokens" -> tokens = Integer.parseInt(value);
        case "--latent" -> latent = Integer.parseInt(value);
        default ->
            throw new IllegalArgumentException(
                "Unknown option "
                    + args[i]
                    + "; use --url, --key, --model, --model-dir, --tokens, --latent");
      }
    }
    if (!Files.isDirectory(modelDir) && Files.isDirectory(Path.of("..").resolve(modelDir))) {
      modelDir = Path.of("..").resolve(modelDir);
    }
    OpenAiClient.Builder client = OpenAiClient.builder().model(model).apiKey(key);
    if (url != null) {
      client.baseUrl(url);
    }
    try (OpenAiClient llm = client.build()) {
      Result result = run(new Options(modelDir, tokens, latent), llm, System.out);
      System.out.printf("%nLLM usage: %s%n", llm.usage());
      System.out.printf(
          "Latent %d: \"%s\" scores %.3f (correlation of simulated and real activations)%n",
          result.latent(), result.explanation().strip(), result.scored().preferredScore());
    }
  }

  /** Collects, explains, simulates and scores, printing progress to {@code out}. */
  static Result run(Options options, LlmClient llm, PrintStream out) {
    int[] corpus = corpusTokens(options.modelDir(), options.tokens());
    try (NDManager manager = NDManager.newBaseManager();
        Transformer model =
            Transformer.fromCheckpoint(Gpt2Checkpoint.load(options.modelDir()), manager);
        Autoencoder sae = Autoencoder.load(options.modelDir().resolve(SAE_FILE), manager)) {
      out.printf(
          "Collecting records for the %d latents of the layer-%d MLP SAE over %,d held-out tokens...%n",
          sae.nLatents(), SAE_LAYER, corpus.length);
      NeuronRecordCollector.Result collected =
          NeuronRecordCollector.builder(model)
              .build()
              .collect(
                  RecordUnits.autoencoderLatents(sae, SAE_INPUT, SAE_LAYER),
                  corpus,
                  p ->
                      out.printf(
                          "  %d/%d excerpts, %,.0f tokens/s%n",
                          p.excerptsDone(), p.excerpts(), p.tokensPerSecond()));
      out.printf(
          "Collected %d records over %,d tokens in %.1f s: %,.0f tokens/s%n",
          collected.records().size(),
          collected.tokens(),
          collected.seconds(),
          collected.tokensPerSecond());

      NeuronRecord record =
          options.latent() != null
              ? collected.records().get(options.latent())
              : collected.records().stream()
                  .max(Comparator.comparingDouble(NeuronRecord::maxActivation))
                  .orElseThrow();
      int latent = record.neuronId().neuronIndex();
      out.printf(
          "%nLatent %d: max activation %.3f; its top excerpt:%n  %s%n",
          latent, record.maxActivation(), excerpt(record.mostPositiveActivationRecords().get(0)));

      List<ActivationRecord> train = record.trainActivationRecords(SPLITS);
      out.printf("Asking the LLM to explain it from %d top excerpts...%n", train.size());
      List<String> explanations =
          TokenActivationPairExplainer.builder()
              .client(llm)
              .build()
              .generateExplanationsBlocking(train, GenerationOptions.DEFAULTS);
      String explanation = explanations.get(0);
      out.printf("Explanation: \"%s\"%n", explanation.strip());

      UncalibratedNeuronSimulator simulator =
          new UncalibratedNeuronSimulator(
              new LogprobFreeExplanationTokenSimulator(
                  llm, explanation, FewShotExampleSet.COLANGV2));
      List<ActivationRecord> valid = record.validActivationRecords(SPLITS);
      out.printf("Simulating %d held-out excerpts (top and random)...%n", valid.size());
      ScoredSimulation scored = LlmClient.await(Scoring.simulateAndScore(simulator, valid));
      return new Result(
          latent,
          collected.records().size(),
          collected.tokens(),
          collected.tokensPerSecond(),
          record,
          explanation,
          scored);
    }
  }

  /**
   * The first {@code limit} tokens of the shipped held-out chapters ({@value #CORPUS_FILE}: every
   * 20th chapter of the King James Bible, which the model and SAE never trained on).
   */
  static int[] corpusTokens(Path modelDir, int limit) {
    Path file = modelDir.resolve(CORPUS_FILE);
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int[] tokens = TokenCorpus.fromText(text, 0).trainTokenIds();
      return Arrays.copyOf(tokens, Math.min(limit, tokens.length));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Could not read the corpus " + file + " (it ships with the model)", e);
    }
  }

  private static String excerpt(ActivationRecord record) {
    return String.join("", record.tokens()).replace("\n", " ").strip();
  }
}
