package io.github.neuronexplainer.examples;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Why does the model prefer one token over another after a prompt? Runs the prompt once with the
 * logit difference (target − distractor) as the loss, then ranks what pushed it: each layer's
 * attention and MLP output (activation × gradient of the residual write, a first-order estimate of
 * its total effect) and the individual MLP neurons (activation × gradient).
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

  public static void main(String[] args) {
    String prompt = args.length > 0 ? args[0] : "When Mary and John went to the store, John gave a drink to";
    String target = args.length > 1 ? args[1] : " Mary";
    String distractor = args.length > 2 ? args[2] : " John";
    String modelName = args.length > 3 ? args[3] : "gpt2-small";

    try (StandardModelContext context = openModel(modelName);
        NDManager manager = NDManager.newBaseManager()) {
      Transformer model = context.getOrCreateModel();
      int[] tokens = context.encode(prompt);
      int targetToken = context.encodeTokenString(target);
      int distractorToken = context.encodeTokenString(distractor);
      System.out.printf("Model: %s (%d layers, d_model %d)%n", context.modelName(),
          model.config().nLayers(), model.config().dModel());
      System.out.printf("Prompt: \"%s\" (%d tokens)%n", prompt, tokens.length);

      RunRequest request =
          RunRequest.builder()
              .prompt(tokens)
              .locations(
                  List.of(
                      ActivationLocationType.RESID_DELTA_ATTN,
                      ActivationLocationType.RESID_DELTA_MLP,
                      ActivationLocationType.MLP_POST_ACT),
                  true)
              .loss(Loss.logitDiff(targetToken, distractorToken))
              .build();
      try (ActivationCache cache = model.runWithCache(request, manager)) {
        System.out.printf(
            "logit(%s) - logit(%s) at the last token = %.4f%n%n",
            quote(target), quote(distractor), cache.loss());
        List<Contribution> blocks = new ArrayList<>();
        List<Contribution> neurons = new ArrayList<>();
        for (int layer = 0; layer < model.config().nLayers(); layer++) {
          blocks.add(actTimesGrad(cache, ActivationLocationType.RESID_DELTA_ATTN, layer, "attention", -1));
          blocks.add(actTimesGrad(cache, ActivationLocationType.RESID_DELTA_MLP, layer, "MLP", -1));
          float[] perNeuron = perNeuronActTimesGrad(cache, layer);
          for (int n = 0; n < perNeuron.length; n++) {
            neurons.add(new Contribution("MLP neuron", layer, n, perNeuron[n]));
          }
        }
        System.out.println("Layer outputs, by estimated effect on the logit difference (act x grad):");
        blocks.stream()
            .sorted(Comparator.comparingDouble((Contribution c) -> -Math.abs(c.value())))
            .forEach(c -> System.out.printf("  %-10s layer %2d  %+.4f%n", c.kind(), c.layer(), c.value()));
        System.out.println("\nTop 10 MLP neurons (act x grad, summed over tokens):");
        neurons.stream()
            .sorted(Comparator.comparingDouble((Contribution c) -> -Math.abs(c.value())))
            .limit(10)
            .forEach(c -> System.out.printf("  layer %2d neuron %5d  %+.4f%n", c.layer(), c.index(), c.value()));
      }
    }
  }

  private record Contribution(String kind, int layer, int index, double value) {}

  private static Contribution actTimesGrad(
      ActivationCache cache, ActivationLocationType location, int layer, String kind, int index) {
    NDArray act = cache.get(location, layer, PassType.FORWARD);
    NDArray grad = cache.get(location, layer, PassType.BACKWARD);
    return new Contribution(kind, layer, index, act.mul(grad).sum().getFloat());
  }

  private static float[] perNeuronActTimesGrad(ActivationCache cache, int layer) {
    NDArray act = cache.get(ActivationLocationType.MLP_POST_ACT, layer, PassType.FORWARD);
    NDArray grad = cache.get(ActivationLocationType.MLP_POST_ACT, layer, PassType.BACKWARD);
    return act.mul(grad).sum(new int[] {0, 1}).toFloatArray();
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
