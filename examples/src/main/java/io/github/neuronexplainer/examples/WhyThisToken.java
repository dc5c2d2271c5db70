package io.github.neuronexplainer.examples;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.debugger.InteractiveModel;
import io.github.neuronexplainer.debugger.TdbConversions;
import io.github.neuronexplainer.debugger.api.BatchedResponse;
import io.github.neuronexplainer.debugger.api.BatchedTdbRequest;
import io.github.neuronexplainer.debugger.api.GroupId;
import io.github.neuronexplainer.debugger.api.InferenceResponseAndResponseDict;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.NodeAblation;
import io.github.neuronexplainer.debugger.api.ScoredTokensResponseData;
import io.github.neuronexplainer.debugger.api.TdbRequestSpec;
import io.github.neuronexplainer.debugger.api.TensorND;
import io.github.neuronexplainer.debugger.api.TokenAndScalar;
import io.github.neuronexplainer.debugger.api.TopTokens;
import io.github.neuronexplainer.models.StandardModelContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Why does the model prefer one token over another after a prompt? Asks the Transformer Debugger
 * ({@link InteractiveModel}) for its node table: every MLP neuron and attention head ranked by
 * activation × gradient of the logit difference (target − distractor; a first-order estimate of
 * each node's total effect), each with the output tokens its write upvotes and the input tokens
 * that drive it; then ablates the strongest node and compares the two runs side by side, in one
 * batched request, as the debugger's UI does.
 *
 * <p>Uses GPT-2 small when it is cached or can be downloaded, otherwise the toy GPT-2 trained on
 * the King James Bible that ships with the project ({@code models/kjv-gpt2}), asked by default
 * about "And God said, Let there be" → " light" rather than " darkness".
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.args="'When Mary and John went to the store, John gave a drink to' ' Mary' ' John'"
 * </pre>
 */
public final class WhyThisToken {
  private static final int ROWS = 8;

  /** Heads to zero, one at a time and together. */
  private static final int HEADS = 3;

  /** The toy GPT-2 trained on the King James Bible (see models/kjv-gpt2/MODEL_CARD.md). */
  static final String TOY_MODEL = "models/kjv-gpt2";

  /** The default question for the toy model: prompt, target, distractor. */
  private static final String[] TOY_PROMPT = {"And God said, Let there be", " light", " darkness"};

  /** The default question for GPT-2: prompt, target, distractor. */
  private static final String[] GPT2_PROMPT = {
    "When Mary and John went to the store, John gave a drink to", " Mary", " John"
  };

  private WhyThisToken() {}

  public static void main(String[] args) {
    String modelName = args.length > 3 ? args[3] : "gpt2-small";
    try (StandardModelContext context = openModel(modelName)) {
      // The toy model knows only the King James Bible: by default, ask it about a verse from there.
      String[] question = context.modelName().contains(TOY_MODEL) ? TOY_PROMPT : GPT2_PROMPT;
      String prompt = args.length > 0 ? args[0] : question[0];
      String target = args.length > 1 ? args[1] : question[1];
      String distractor = args.length > 2 ? args[2] : question[2];
      InteractiveModel debugger = InteractiveModel.builder(context).build();
      TdbRequestSpec clean =
          TdbRequestSpec.builder(prompt)
              .target(target)
              .distractor(distractor)
              .topAndBottomKForNodeTable(ROWS)
              .build();
      System.out.printf("Model: %s (%d layers)%n", context.modelName(), context.nLayers());

      InferenceResponseAndResponseDict result =
          debugger
              .handleBatchedTdbRequest(BatchedTdbRequest.of(clean))
              .inferenceSubResponses()
              .get(0);
      List<String> tokens = result.inferenceResponse().inferenceAndTokenData().tokensAsStrings();
      System.out.printf("Prompt: \"%s\" (%d tokens)%n", prompt, tokens.size());
      System.out.printf(
          "logit(%s) - logit(%s) at the last token = %.4f%n%n",
          quote(target),
          quote(distractor),
          result.inferenceResponse().inferenceAndTokenData().loss());

      MultipleTopKDerivedScalarsResponseData table =
          result.data(
              TdbConversions.TOP_K_COMPONENTS, MultipleTopKDerivedScalarsResponseData.class);
      ScoredTokensResponseData upvoted =
          result.data(TdbConversions.UPVOTED_OUTPUT_TOKENS, ScoredTokensResponseData.class);
      ScoredTokensResponseData inputs =
          result.data(TdbConversions.INPUT_TOKENS_THAT_UPVOTE_MLP, ScoredTokensResponseData.class);
      List<Integer> rows = strongest(table, ROWS);
      System.out.printf("Node table: the %d nodes with the largest |act x grad|%n", rows.size());
      for (int i : rows) {
        NodeIndex node = table.nodeIndices().get(i);
        System.out.printf(
            "  %+.4f  %-48s upvotes %s%s%n",
            table.values(GroupId.ACT_TIMES_GRAD).get(i),
            describe(node, tokens),
            topTokens(upvoted.topTokensList().get(i)),
            inputs.topTokensList().get(i) == null
                ? ""
                : "; read from " + topTokens(inputs.topTokensList().get(i)));
      }

      TensorND attribution =
          table
              .intermediateSumActivationsByDstByGroupId()
              .get(GroupId.ACT_TIMES_GRAD)
              .get(DerivedScalarType.TOKEN_ATTRIBUTION);
      System.out.println("\nToken attribution (embedding x gradient):");
      List<Double> perToken = ((TensorND.Tensor1D) attribution).value();
      for (int t = 0; t < tokens.size(); t++) {
        System.out.printf("  %-12s %+.4f%n", quote(tokens.get(t)), perToken.get(t));
      }

      printHeads(
          HeadAblations.run(
              debugger,
              context.nLayers(),
              context.nAttentionHeads(),
              prompt,
              target,
              distractor,
              HEADS),
          target);

      NodeIndex strongest = table.nodeIndices().get(rows.get(0));
      TdbRequestSpec ablated = clean.withNodeAblations(List.of(new NodeAblation(strongest, 0)));
      BatchedResponse sideBySide =
          debugger.handleBatchedTdbRequest(BatchedTdbRequest.of(ablated, clean));
      InferenceResponseAndResponseDict left = sideBySide.inferenceSubResponses().get(0);
      InferenceResponseAndResponseDict right = sideBySide.inferenceSubResponses().get(1);
      System.out.printf(
          "%nAblating %s (set to 0): logit difference %.4f -> %.4f%n",
          describe(strongest, tokens),
          right.inferenceResponse().inferenceAndTokenData().loss(),
          left.inferenceResponse().inferenceAndTokenData().loss());
      MultipleTopKDerivedScalarsResponseData ablatedTable =
          left.data(TdbConversions.TOP_K_COMPONENTS, MultipleTopKDerivedScalarsResponseData.class);
      MultipleTopKDerivedScalarsResponseData cleanTable =
          right.data(TdbConversions.TOP_K_COMPONENTS, MultipleTopKDerivedScalarsResponseData.class);
      System.out.println(
          "Act x grad of the same nodes (rows are shared across the batch): ablated | clean");
      for (int i : strongest(cleanTable, ROWS)) {
        System.out.printf(
            "  %+.4f | %+.4f  %s%n",
            ablatedTable.values(GroupId.ACT_TIMES_GRAD).get(i),
            cleanTable.values(GroupId.ACT_TIMES_GRAD).get(i),
            describe(cleanTable.nodeIndices().get(i), tokens));
      }
    }
  }

  private static void printHeads(HeadAblations.Result heads, String target) {
    double clean = heads.cleanDifference();
    System.out.printf(
        "%nAttention heads by act x grad of their pattern (minus the estimated change in the"
            + " difference if zeroed), then zeroed:%n");
    for (HeadAblations.HeadEffect head : heads.strongest()) {
      System.out.printf(
          "  %-10s %+.4f   zeroed: %.4f -> %.4f (%+.4f)%n",
          head.name(), head.actTimesGrad(), clean, head.ablatedDifference(), head.change(clean));
    }
    double together = heads.allStrongestAblated();
    System.out.printf(
        "  all %d zeroed together: %.4f -> %.4f%n", heads.strongest().size(), clean, together);
    for (int layer = 0; layer < heads.mlpLayerAblated().size(); layer++) {
      double mlp = heads.mlpLayerAblated().get(layer);
      System.out.printf(
          "  for comparison, L%d MLP zeroed: %.4f -> %.4f (%+.4f)%n",
          layer, clean, mlp, mlp - clean);
    }
    HeadAblations.HeadEffect top = heads.strongest().get(0);
    System.out.printf(
        "%s: zeroing %s moves the difference by %+.4f (estimated %+.4f); it pushes %s %s.%n",
        heads.confirmsStrongest()
            ? "The ablation confirms the attribution"
            : "The ablation does not confirm the"
                + " attribution (the head's effect is not linear in its pattern)",
        top.name(),
        top.change(clean),
        -top.actTimesGrad(),
        top.actTimesGrad() > 0 ? "toward" : "away from",
        quote(target));
    int mlpLayer = 0;
    for (int layer = 1; layer < heads.mlpLayerAblated().size(); layer++) {
      if (heads.mlpLayerAblated().get(layer) < heads.mlpLayerAblated().get(mlpLayer)) {
        mlpLayer = layer;
      }
    }
    System.out.printf(
        "The %d strongest heads together carry %s of the preference (%.0f%%); zeroing the L%d MLP"
            + " takes away %.0f%%.%n",
        heads.strongest().size(),
        Math.abs(together - clean) < 0.2 * Math.abs(clean) ? "little" : "much",
        100 * (clean - together) / clean,
        mlpLayer,
        100 * (clean - heads.mlpLayerAblated().get(mlpLayer)) / clean);
  }

  /** Rows of the MLP and attention nodes with the largest |act x grad|, strongest first. */
  private static List<Integer> strongest(MultipleTopKDerivedScalarsResponseData table, int n) {
    List<Double> values = table.values(GroupId.ACT_TIMES_GRAD);
    List<Integer> rows = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      if (table.nodeIndices().get(i).nodeType() != NodeType.LAYER) {
        rows.add(i);
      }
    }
    rows.sort(Comparator.comparingDouble((Integer i) -> -Math.abs(values.get(i))));
    return rows.subList(0, Math.min(n, rows.size()));
  }

  private static String topTokens(TopTokens top) {
    return top.top().stream()
        .limit(3)
        .map(TokenAndScalar::token)
        .map(WhyThisToken::quote)
        .collect(Collectors.joining(" ", "[", "]"));
  }

  /** "L1 MLP neuron 39 at ' to'" or "L0 head 3, ' to' -> ' Mary'". */
  private static String describe(NodeIndex node, List<String> tokens) {
    List<Integer> at = node.tensorIndices();
    if (node.nodeType() == NodeType.MLP_NEURON) {
      return String.format(
          "L%d MLP neuron %d at %s", node.layerIndex(), at.get(1), quote(tokens.get(at.get(0))));
    }
    return String.format(
        "L%d head %d, %s -> %s",
        node.layerIndex(), at.get(2), quote(tokens.get(at.get(0))), quote(tokens.get(at.get(1))));
  }

  /** GPT-2 small if it can be had, else the tiny model in fixtures/. */
  static StandardModelContext openModel(String name) {
    if (!name.equals("gpt2-small")) {
      return StandardModelContext.load(name);
    }
    StandardModelContext context = StandardModelContext.load(name);
    try {
      context.getOrCreateModel();
      return context;
    } catch (RuntimeException e) {
      context.close();
      for (String candidate : List.of(TOY_MODEL, "../" + TOY_MODEL)) {
        Path toy = Path.of(candidate);
        if (Files.isRegularFile(toy.resolve("model.safetensors"))) {
          System.out.printf(
              "GPT-2 small is not cached and cannot be downloaded (%s);%nusing the toy GPT-2 trained on the"
                  + " King James Bible at %s (see its MODEL_CARD.md)%n%n",
              e.getMessage(), TOY_MODEL);
          return StandardModelContext.load(toy.toAbsolutePath().normalize().toString());
        }
      }
      Path tiny = findTinyModel();
      System.out.printf(
          "GPT-2 small is not cached and cannot be downloaded (%s);%nusing the tiny random model at %s%n%n",
          e.getMessage(), tiny);
      return StandardModelContext.load(tiny.toString());
    }
  }

  static Path findTinyModel() {
    for (String candidate :
        List.of("fixtures/tiny/data/tiny-gpt2-hf", "../fixtures/tiny/data/tiny-gpt2-hf")) {
      Path p = Path.of(candidate);
      if (Files.isRegularFile(p.resolve("config.json"))) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException(
        "The tiny model (fixtures/tiny/data/tiny-gpt2-hf) was not found; run from the project root");
  }

  private static String quote(String token) {
    return "'" + token.replace("\n", "\\n") + "'";
  }
}
