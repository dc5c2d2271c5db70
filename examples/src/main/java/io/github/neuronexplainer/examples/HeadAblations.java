package io.github.neuronexplainer.examples;

import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.InteractiveModel;
import io.github.neuronexplainer.debugger.api.AblationSpec;
import io.github.neuronexplainer.debugger.api.BatchedRequest;
import io.github.neuronexplainer.debugger.api.DerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.DerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.InferenceRequestSpec;
import io.github.neuronexplainer.debugger.api.InferenceResponseAndResponseDict;
import io.github.neuronexplainer.debugger.api.InferenceSubRequest;
import io.github.neuronexplainer.debugger.api.LossFnConfig;
import io.github.neuronexplainer.debugger.api.ProcessingRequestSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which attention heads carry a preference for one token over another? Ranks every head by the act
 * × grad of its attention pattern (summed over token pairs: the first-order estimate of how much
 * the logit difference falls when the head's pattern is zeroed), then zeroes the strongest heads,
 * one at a time and together, to see whether the estimate holds. Everything goes through the
 * debugger API, in two batched requests (attribution, then the ablations in one batch).
 *
 * <p>Thread-safe if the {@link InteractiveModel} is (it serves one request at a time).
 */
final class HeadAblations {
  private HeadAblations() {}

  /** One head: its attribution and the logit difference with its attention pattern zeroed. */
  record HeadEffect(int layer, int head, double actTimesGrad, double ablatedDifference) {
    /** The change the ablation made to the logit difference. */
    double change(double cleanDifference) {
      return ablatedDifference - cleanDifference;
    }

    String name() {
      return "L" + layer + " head " + head;
    }
  }

  /**
   * The result: the clean logit difference, the {@code top} heads by |act × grad| (each ablated
   * alone), the difference with all of them ablated together, and, for comparison, the difference
   * with each MLP layer's activations zeroed (its write reduced to its output bias).
   */
  record Result(
      double cleanDifference,
      List<HeadEffect> strongest,
      double allStrongestAblated,
      List<Double> mlpLayerAblated) {
    /**
     * Whether the ablation bears out the attribution of the strongest head: zeroing it moves the
     * difference the way its act × grad says (down for a positive one), by at least half as much.
     */
    boolean confirmsStrongest() {
      HeadEffect top = strongest.get(0);
      double estimated = -top.actTimesGrad();
      double actual = top.change(cleanDifference);
      return Math.signum(actual) == Math.signum(estimated)
          && Math.abs(actual) >= 0.5 * Math.abs(estimated);
    }
  }

  static Result run(
      InteractiveModel debugger,
      int nLayers,
      int nHeads,
      String prompt,
      String target,
      String distractor,
      int top) {
    LossFnConfig loss = LossFnConfig.logitDiff(target, distractor);
    Map<String, ProcessingRequestSpec> specs = new LinkedHashMap<>();
    for (int layer = 0; layer < nLayers; layer++) {
      for (int head = 0; head < nHeads; head++) {
        specs.put(
            key(layer, head),
            DerivedScalarsRequestSpec.of(DerivedScalarType.ATTN_ACT_TIMES_GRAD, layer, head));
      }
    }
    InferenceResponseAndResponseDict clean =
        debugger
            .handleBatchedRequest(
                BatchedRequest.of(
                    new InferenceSubRequest(
                        InferenceRequestSpec.builder(prompt).lossFnConfig(loss).build(), specs)))
            .inferenceSubResponses()
            .get(0);
    double cleanDifference = clean.inferenceResponse().inferenceAndTokenData().loss();

    List<int[]> heads = new ArrayList<>();
    Map<String, Double> attribution = new LinkedHashMap<>();
    for (int layer = 0; layer < nLayers; layer++) {
      for (int head = 0; head < nHeads; head++) {
        DerivedScalarsResponseData data =
            clean.data(key(layer, head), DerivedScalarsResponseData.class);
        attribution.put(
            key(layer, head), data.activations().stream().mapToDouble(Double::doubleValue).sum());
        heads.add(new int[] {layer, head});
      }
    }
    heads.sort(
        Comparator.comparingDouble((int[] h) -> -Math.abs(attribution.get(key(h[0], h[1])))));
    List<int[]> strongest = heads.subList(0, Math.min(top, heads.size()));

    List<InferenceSubRequest> ablations = new ArrayList<>();
    for (int[] head : strongest) {
      ablations.add(ablationRequest(prompt, loss, List.of(head)));
    }
    ablations.add(ablationRequest(prompt, loss, strongest));
    for (int layer = 0; layer < nLayers; layer++) {
      ActivationIndex neurons =
          new ActivationIndex(
              ActivationLocationType.MLP_POST_ACT,
              Arrays.asList(null, null),
              layer,
              PassType.FORWARD);
      ablations.add(
          new InferenceSubRequest(
              InferenceRequestSpec.builder(prompt)
                  .lossFnConfig(loss)
                  .ablation(new AblationSpec(neurons, 0))
                  .build(),
              Map.of()));
    }
    List<InferenceResponseAndResponseDict> ablated =
        debugger.handleBatchedRequest(new BatchedRequest(ablations)).inferenceSubResponses();
    List<HeadEffect> effects = new ArrayList<>();
    for (int i = 0; i < strongest.size(); i++) {
      int[] head = strongest.get(i);
      effects.add(
          new HeadEffect(
              head[0],
              head[1],
              attribution.get(key(head[0], head[1])),
              ablated.get(i).inferenceResponse().inferenceAndTokenData().loss()));
    }
    double together =
        ablated.get(strongest.size()).inferenceResponse().inferenceAndTokenData().loss();
    List<Double> mlpLayers = new ArrayList<>();
    for (int layer = 0; layer < nLayers; layer++) {
      mlpLayers.add(
          ablated
              .get(strongest.size() + 1 + layer)
              .inferenceResponse()
              .inferenceAndTokenData()
              .loss());
    }
    return new Result(cleanDifference, effects, together, mlpLayers);
  }

  /** A run with the attention pattern of each of {@code heads} set to 0 at every token pair. */
  private static InferenceSubRequest ablationRequest(
      String prompt, LossFnConfig loss, List<int[]> heads) {
    InferenceRequestSpec.Builder request = InferenceRequestSpec.builder(prompt).lossFnConfig(loss);
    for (int[] head : heads) {
      ActivationIndex pattern =
          new ActivationIndex(
              ActivationLocationType.ATTN_QK_PROBS,
              Arrays.asList(null, null, head[1]),
              head[0],
              PassType.FORWARD);
      request.ablation(new AblationSpec(pattern, 0));
    }
    return new InferenceSubRequest(request.build(), Map.of());
  }

  private static String key(int layer, int head) {
    return "L" + layer + "H" + head;
  }
}
