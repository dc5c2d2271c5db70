package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.report.HtmlReport;
import io.github.neuronexplainer.core.report.NodeRow;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes an HTML report of one prompt: token attribution as a heatmap, layer 0's attention
 * patterns, the top nodes by activation × gradient with the tokens each MLP neuron writes towards
 * and away from, and the top neuron's activations over a few prompts as a neuron record.
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.neuronexplainer.examples.PromptReport \
 *     -Dexec.args="report.html 'The capital of France is' ' Paris' ' London'"
 * </pre>
 *
 * <p>Uses GPT-2 small when it is cached or can be downloaded, otherwise the bundled tiny model.
 */
public final class PromptReport {
  private static final List<String> OTHER_PROMPTS =
      List.of("Paris is the capital of France", "The capital of Italy is Rome");

  private PromptReport() {}

  public static void main(String[] args) {
    Path out = Path.of(args.length > 0 ? args[0] : "report.html");
    String prompt = args.length > 1 ? args[1] : "The capital of France is";
    String target = args.length > 2 ? args[2] : " Paris";
    String distractor = args.length > 3 ? args[3] : " London";
    String modelName = args.length > 4 ? args[4] : "gpt2-small";
    try (StandardModelContext context = WhyThisToken.openModel(modelName);
        NDManager manager = NDManager.newBaseManager(context.device())) {
      Path written = write(context, prompt, target, distractor, manager).write(out);
      System.out.println("Wrote " + written.toAbsolutePath());
    }
  }

  /** The report of {@code prompt} with the logit difference target − distractor as the loss. */
  static HtmlReport write(
      StandardModelContext context,
      String prompt,
      String target,
      String distractor,
      NDManager manager) {
    Transformer model = context.getOrCreateModel();
    int[] tokens = context.encode(prompt);
    List<String> strings = tokenStrings(context, tokens);
    Loss loss =
        Loss.logitDiff(context.encodeTokenString(target), context.encodeTokenString(distractor));
    HtmlReport.Builder report =
        HtmlReport.builder(
            context.modelName()
                + ": \""
                + prompt
                + "\" \u2192 \""
                + target
                + "\" rather than \""
                + distractor
                + "\"");

    DstConfig config = DstConfig.builder().modelContext(context).build();
    List<DerivedScalarType> nodeScores =
        List.of(
            DerivedScalarType.MLP_ACT_TIMES_GRAD,
            DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD);
    List<DstAndConfig> requests = new ArrayList<>();
    nodeScores.forEach(dst -> requests.add(new DstAndConfig(dst, config)));
    requests.add(new DstAndConfig(DerivedScalarType.TOKEN_ATTRIBUTION, config));
    DerivedScalarIndex topNeuron;
    try (PromptDerivedScalars result =
        DerivedScalarComputation.getDerivedScalarsForPrompt(
            model, tokens, loss, List.of(), requests, manager)) {
      DerivedScalarStore store = result.derivedScalars();
      float[] attribution =
          store
              .get(DerivedScalarType.TOKEN_ATTRIBUTION, PassType.FORWARD)
              .get(LayerIndex.NONE)
              .toFloatArray();
      report.tokenHeatmap(
          "Token attribution (embedding \u00d7 gradient of the logit difference)",
          strings,
          attribution);
      ActivationsAndMetadata.TopK top = store.topk(12, PassType.FORWARD, nodeScores, null, true);
      List<NodeRow> rows = new ArrayList<>(NodeRow.fromTopK(top, strings));
      for (int i = 0; i < rows.size(); i++) {
        DerivedScalarIndex index = top.indices().get(i);
        if (index.dst() == DerivedScalarType.MLP_ACT_TIMES_GRAD) {
          rows.set(i, withTopTokens(context, rows.get(i), index.tensorIndices().get(1), manager));
        }
      }
      report.nodeTable("Top 12 nodes by activation \u00d7 gradient", rows);
      topNeuron =
          store
              .topk(1, PassType.FORWARD, List.of(DerivedScalarType.MLP_ACT_TIMES_GRAD), null, true)
              .indices()
              .get(0);
    }

    try (ActivationCache cache =
        model.runWithCache(
            RunRequest.builder()
                .prompt(tokens)
                .forward(HookPoint.ATTN_QK_PROBS)
                .layers(List.of(0))
                .build(),
            manager)) {
      NDArray probs =
          cache.get(ActivationLocationType.ATTN_QK_PROBS, 0, PassType.FORWARD); // [1, q, k, heads]
      report.attentionPatterns(
          "Layer 0 attention, one grid per head (row: attending token)",
          strings,
          probs.get(0).transpose(2, 0, 1));
    }

    int layer = topNeuron.layerIndex();
    int neuron = topNeuron.tensorIndices().get(1);
    List<ActivationRecord> records = new ArrayList<>();
    List<String> prompts = new ArrayList<>(List.of(prompt));
    prompts.addAll(OTHER_PROMPTS);
    for (String p : prompts) {
      int[] t = context.encode(p);
      try (ActivationCache cache =
          model.runWithCache(
              RunRequest.builder()
                  .prompt(t)
                  .forward(HookPoint.MLP_POST_ACT)
                  .layers(List.of(layer))
                  .build(),
              manager)) {
        float[] acts =
            cache
                .get(ActivationLocationType.MLP_POST_ACT, layer, PassType.FORWARD)
                .get("0, :, " + neuron)
                .toFloatArray();
        List<Double> values = new ArrayList<>();
        for (float a : acts) {
          values.add((double) a);
        }
        records.add(ActivationRecord.of(tokenStrings(context, t), values));
      }
    }
    records.sort((a, b) -> Double.compare(max(b), max(a)));
    report.neuronRecord(
        NeuronRecord.of(new NeuronId(neuron, layer), records, List.of()), records.size());
    return report.build();
  }

  /** The row with the three tokens the neuron's output weights raise and lower most. */
  private static NodeRow withTopTokens(
      StandardModelContext context, NodeRow row, int neuron, NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      NDArray out =
          context.getWeight(WeightLocationType.MLP_TO_RESIDUAL, row.layer(), scratch).get(neuron);
      NDArray logits =
          out.matMul(context.getWeight(WeightLocationType.UNEMBEDDING, LayerIndex.NONE, scratch));
      long[] order = logits.argSort().toLongArray();
      List<String> up = new ArrayList<>();
      List<String> down = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        up.add(context.decodeToken((int) order[order.length - 1 - i]));
        down.add(context.decodeToken((int) order[i]));
      }
      return row.withTopTokens(up, down);
    }
  }

  private static List<String> tokenStrings(StandardModelContext context, int[] tokens) {
    List<String> strings = new ArrayList<>();
    for (int t : tokens) {
      strings.add(context.decodeToken(t));
    }
    return strings;
  }

  private static double max(ActivationRecord record) {
    double m = Double.NEGATIVE_INFINITY;
    for (double v : record.activationArray()) {
      m = Math.max(m, v);
    }
    return m;
  }
}
