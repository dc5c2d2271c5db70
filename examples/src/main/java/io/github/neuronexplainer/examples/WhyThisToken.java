package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Why does the model prefer one token over another after a prompt? Runs the prompt once with the
 * logit difference (target − distractor) as the loss and asks the derived-scalar engine, as the
 * Transformer Debugger does, for activation × gradient (a first-order estimate of each node's total
 * effect) of every MLP neuron and attention head, and for each token's attribution.
 *
 * <p>Uses GPT-2 small when it is cached or can be downloaded, otherwise the tiny random GPT-2 that
 * ships with the project (its answers are meaningless, but every number is real).
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.args="'When Mary and John went to the store, John gave a drink to' ' Mary' ' John'"
 * </pre>
 */
public final class WhyThisToken {
  private WhyThisToken() {}

  /** The toy GPT-2 trained on the King James Bible (see models/kjv-gpt2/MODEL_CARD.md). */
  static final String TOY_MODEL = "models/kjv-gpt2";

  /** The default question for the toy model: prompt, target, distractor. */
  static final String[] TOY_PROMPT = {"And God said, Let there be", " light", " darkness"};

  public static void main(String[] args) {
    String modelName = args.length > 3 ? args[3] : "gpt2-small";
    try (StandardModelContext context = openModel(modelName);
        NDManager manager = NDManager.newBaseManager()) {
      boolean toy = args.length == 0 && context.modelName().contains(TOY_MODEL);
      // the toy model knows only the King James Bible: ask it about a sentence from there
      String prompt = args.length > 0 ? args[0] : toy ? TOY_PROMPT[0] : "When Mary and John went to the store, John gave a drink to";
      String target = args.length > 1 ? args[1] : toy ? TOY_PROMPT[1] : " Mary";
      String distractor = args.length > 2 ? args[2] : toy ? TOY_PROMPT[2] : " John";
      Transformer model = context.getOrCreateModel();
      int[] tokens = context.encode(prompt);
      int targetToken = context.encodeTokenString(target);
      int distractorToken = context.encodeTokenString(distractor);
      System.out.printf("Model: %s (%d layers, d_model %d)%n", context.modelName(),
          model.config().nLayers(), model.config().dModel());
      System.out.printf("Prompt: \"%s\" (%d tokens)%n", prompt, tokens.length);

      DstConfig config = DstConfig.builder().modelContext(context).build();
      List<DerivedScalarType> nodeScores =
          List.of(DerivedScalarType.MLP_ACT_TIMES_GRAD, DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD);
      List<DstAndConfig> requests = new ArrayList<>();
      for (DerivedScalarType dst : nodeScores) {
        requests.add(new DstAndConfig(dst, config));
      }
      requests.add(new DstAndConfig(DerivedScalarType.ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN, config));
      requests.add(new DstAndConfig(DerivedScalarType.TOKEN_ATTRIBUTION, config));
      try (PromptDerivedScalars result =
          DerivedScalarComputation.getDerivedScalarsForPrompt(
              model,
              tokens,
              Loss.logitDiff(targetToken, distractorToken),
              List.of(),
              requests,
              manager)) {
        DerivedScalarStore store = result.derivedScalars();
        System.out.printf(
            "logit(%s) - logit(%s) at the last token = %.4f%n%n",
            quote(target), quote(distractor), result.loss());
        List<String> tokenStrings = new ArrayList<>();
        for (int t : tokens) {
          tokenStrings.add(context.decodeToken(t));
        }
        System.out.println(
            "Per layer, estimated effect on the logit difference (activation x gradient, summed):");
        for (int layer = 0; layer < model.config().nLayers(); layer++) {
          float attention =
              store.get(DerivedScalarType.ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN, PassType.FORWARD)
                  .get(layer).sum().getFloat();
          float mlp =
              store.get(DerivedScalarType.MLP_ACT_TIMES_GRAD, PassType.FORWARD).get(layer).sum().getFloat();
          System.out.printf("  layer %2d  attention heads %+.4f  MLP neurons %+.4f%n", layer, attention, mlp);
        }
        for (boolean largest : new boolean[] {true, false}) {
          System.out.printf(
              "%nTop 8 nodes pushing %s %s (act x grad):%n", largest ? "towards" : "away from", quote(target));
          ActivationsAndMetadata.TopK top =
              store.topkAcrossDsts(8, PassType.FORWARD, nodeScores, null, largest);
          for (int i = 0; i < top.values().length; i++) {
            System.out.printf("  %+.4f  %s%n", top.values()[i], describe(top.indices().get(i), tokenStrings));
          }
        }
        float[] attribution =
            store.get(DerivedScalarType.TOKEN_ATTRIBUTION, PassType.FORWARD).get(LayerIndex.NONE).toFloatArray();
        System.out.println("\nToken attribution (embedding x gradient):");
        for (int i = 0; i < tokens.length; i++) {
          System.out.printf("  %-12s %+.4f%n", quote(tokenStrings.get(i)), attribution[i]);
        }
      }
    }
  }

  /** "layer 1 MLP neuron 39 at ' to'" or "layer 0 head 3, ' to' attending to ' Mary'". */
  private static String describe(DerivedScalarIndex index, List<String> tokens) {
    List<Integer> at = index.tensorIndices();
    if (index.dst() == DerivedScalarType.MLP_ACT_TIMES_GRAD) {
      return String.format("layer %d MLP neuron %d at %s", index.layerIndex(), at.get(1), quote(tokens.get(at.get(0))));
    }
    return String.format(
        "layer %d attention head %d, %s attending to %s",
        index.layerIndex(), at.get(2), quote(tokens.get(at.get(0))), quote(tokens.get(at.get(1))));
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
    for (String candidate : List.of("fixtures/tiny/data/tiny-gpt2-hf", "../fixtures/tiny/data/tiny-gpt2-hf")) {
      Path p = Path.of(candidate);
      if (Files.isRegularFile(p.resolve("config.json"))) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException("The tiny model (fixtures/tiny/data/tiny-gpt2-hf) was not found; run from the project root");
  }

  private static String quote(String token) {
    return "'" + token + "'";
  }

}
