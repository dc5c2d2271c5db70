package io.github.neuronexplainer.conformance.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Invariants of the catalogue (§4.0 (a)–(e)) and of specs/tests_inventory.md (I-5 completeness, I-6
 * layer-level act×grad, I-7 write decompositions, I-19 flattening, I-23 TopK sparsity) on the
 * golden raw activations of every prompt, with the MLP autoencoder (and separately the TopK
 * attention autoencoder) spliced in.
 */
@ExtendWith(PackFixtures.class)
class InvariantsConformanceTest {
  private static final double TOLERANCE = 2e-5;

  static Stream<Arguments> packsAndPrompts() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Pack.Prompt prompt : pack.prompts()) {
        args.add(Arguments.of(pack, prompt.id()));
      }
    }
    return args.stream();
  }

  private static DerivedScalarStore derive(
      PackFixture fixture, RawActivationStore raw, Scenario scenario, DerivedScalarType... dsts) {
    List<ScalarDeriver> derivers = new ArrayList<>();
    DstConfig config = fixture.config(scenario).build();
    for (DerivedScalarType dst : dsts) {
      derivers.add(ScalarDerivers.makeScalarDeriver(dst, config));
    }
    return DerivedScalarStore.deriveFromRaw(raw, derivers, fixture.manager());
  }

  @ParameterizedTest
  @MethodSource("packsAndPrompts")
  void directEffectsAndActTimesGradDecompose(Pack pack, String promptId, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompt(promptId);
    Scenario scenario = Scenario.LOSS_MLP_SAE;
    try (RawActivationStore raw = fixture.rawStore(prompt, scenario);
        DerivedScalarStore store =
            derive(
                fixture,
                raw,
                scenario,
                MLP_ACT_TIMES_GRAD,
                MLP_WRITE_TO_FINAL_RESIDUAL_GRAD,
                UNFLATTENED_ATTN_ACT_TIMES_GRAD,
                UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD,
                ATTN_ACT_TIMES_GRAD,
                ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN,
                ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD_PER_SEQUENCE_TOKEN,
                MLP_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD,
                ATTN_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD,
                RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD,
                ONLINE_MLP_AUTOENCODER_ACT_TIMES_GRAD,
                ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD,
                ONLINE_MLP_AUTOENCODER_ERROR_WRITE_TO_FINAL_RESIDUAL_GRAD);
        NDScope scope = new NDScope()) {
      int nLayers = fixture.model().nLayers();
      int last = nLayers - 1;
      NDManager m = fixture.manager();
      NDArray g = raw.get(ActivationLocationType.RESID_POST_MLP, PassType.BACKWARD).get(last);
      // (a) at the last layer the direct effect is the whole effect.
      assertClose(
          "(a) MLP",
          at(store, MLP_ACT_TIMES_GRAD, last),
          at(store, MLP_WRITE_TO_FINAL_RESIDUAL_GRAD, last));
      assertClose(
          "(a) MLP autoencoder",
          at(store, ONLINE_MLP_AUTOENCODER_ACT_TIMES_GRAD, last),
          at(store, ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD, last));
      double completeness =
          at(store, RESID_POST_EMBEDDING_PROJ_TO_FINAL_RESIDUAL_GRAD, LayerIndex.NONE)
              .sum()
              .getFloat();
      for (int layer = 0; layer < nLayers; layer++) {
        // (b), (c): per-token attention values are the unflattened ones summed over keys.
        assertClose(
            "(b) layer " + layer,
            at(store, UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD, layer).sum(new int[] {1}),
            at(store, ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD_PER_SEQUENCE_TOKEN, layer));
        assertClose(
            "(c) layer " + layer,
            at(store, UNFLATTENED_ATTN_ACT_TIMES_GRAD, layer).sum(new int[] {1}),
            at(store, ATTN_ACT_TIMES_GRAD_PER_SEQUENCE_TOKEN, layer));
        // I-19: flattened = lower triangle of unflattened.
        assertClose(
            "I-19 layer " + layer,
            lowerTriangleRows(at(store, UNFLATTENED_ATTN_ACT_TIMES_GRAD, layer)),
            at(store, ATTN_ACT_TIMES_GRAD, layer));
        // (d) node direct effects + bias·g = the layer's direct effect.
        NDArray bOut = fixture.model().getWeight(WeightLocationType.MLP_TO_RESIDUAL_BIAS, layer, m);
        NDArray bO = fixture.model().getWeight(WeightLocationType.ATTN_TO_RESIDUAL_BIAS, layer, m);
        NDArray mlpDe = at(store, MLP_WRITE_TO_FINAL_RESIDUAL_GRAD, layer).sum(new int[] {1}, true);
        NDArray attnDe =
            at(store, UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD, layer)
                .sum(new int[] {1, 2})
                .reshape(-1, 1);
        NDArray mlpBiasTerm = g.matMul(bOut.reshape(-1, 1));
        NDArray attnBiasTerm = g.matMul(bO.reshape(-1, 1));
        assertClose(
            "(d) MLP layer " + layer,
            mlpDe.add(mlpBiasTerm),
            at(store, MLP_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD, layer));
        assertClose(
            "(d) attention layer " + layer,
            attnDe.add(attnBiasTerm),
            at(store, ATTN_LAYER_WRITE_TO_FINAL_RESIDUAL_GRAD, layer));
        // (e) autoencoder latents + errors + b_pre·Wout = the MLP neurons' direct effect.
        NDArray bPre = fixture.autoencoder("mlp").autoencoder(layer).preBias(m);
        NDArray wOut = fixture.model().getWeight(WeightLocationType.MLP_TO_RESIDUAL, layer, m);
        NDArray preBiasTerm = g.matMul(bPre.reshape(1, -1).matMul(wOut).reshape(-1, 1));
        assertClose(
            "(e) layer " + layer,
            at(store, ONLINE_MLP_AUTOENCODER_WRITE_TO_FINAL_RESIDUAL_GRAD, layer)
                .sum(new int[] {1}, true)
                .add(
                    at(store, ONLINE_MLP_AUTOENCODER_ERROR_WRITE_TO_FINAL_RESIDUAL_GRAD, layer)
                        .sum(new int[] {1}, true))
                .add(preBiasTerm),
            mlpDe);
        // I-6: a layer's act×grad summed over its nodes = (write − bias)·gradient of the write.
        NDArray deltaMlp =
            raw.get(ActivationLocationType.RESID_DELTA_MLP, PassType.FORWARD).get(layer);
        NDArray deltaMlpGrad =
            raw.get(ActivationLocationType.RESID_DELTA_MLP, PassType.BACKWARD).get(layer);
        assertClose(
            "I-6 MLP layer " + layer,
            at(store, MLP_ACT_TIMES_GRAD, layer).sum(new int[] {1}, true),
            deltaMlp.sub(bOut).mul(deltaMlpGrad).sum(new int[] {1}, true));
        NDArray deltaAttn =
            raw.get(ActivationLocationType.RESID_DELTA_ATTN, PassType.FORWARD).get(layer);
        NDArray deltaAttnGrad =
            raw.get(ActivationLocationType.RESID_DELTA_ATTN, PassType.BACKWARD).get(layer);
        assertClose(
            "I-6 attention layer " + layer,
            at(store, UNFLATTENED_ATTN_ACT_TIMES_GRAD, layer).sum(new int[] {1, 2}).reshape(-1, 1),
            deltaAttn.sub(bO).mul(deltaAttnGrad).sum(new int[] {1}, true));
        completeness +=
            mlpDe.sum().getFloat()
                + attnDe.sum().getFloat()
                + mlpBiasTerm.sum().getFloat()
                + attnBiasTerm.sum().getFloat();
      }
      // I-5: embedding + every node's direct effect + biases = X_NL·g (the residual is the sum of
      // its writes). Final layer norm scale invariance makes that (S − β·w)·ε/s_f² at the last
      // token (S the loss, β the final LN bias, w = unembedding(target) − unembedding(distractor)).
      NDArray residual = raw.get(ActivationLocationType.RESID_POST_MLP, PassType.FORWARD).get(last);
      double projection = residual.mul(g).sum().getFloat();
      assertEquals(projection, completeness, 1e-5, "I-5 completeness");
      NDArray unembedding =
          fixture.model().getWeight(WeightLocationType.UNEMBEDDING, LayerIndex.NONE, m);
      NDArray w =
          unembedding
              .get(":, " + prompt.targetToken())
              .sub(unembedding.get(":, " + prompt.distractorToken()));
      double betaW =
          fixture
              .model()
              .getWeight(WeightLocationType.LAYER_NORM_BIAS_FINAL, LayerIndex.NONE, m)
              .mul(w)
              .sum()
              .getFloat();
      double loss =
          pack.json(promptId + "/dst.json")
              .get("scenarios")
              .get(scenario.value())
              .get("loss")
              .asDouble();
      NDArray finalScale =
          raw.get(ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE, PassType.FORWARD)
              .get(LayerIndex.NONE);
      double s = finalScale.get(finalScale.getShape().get(0) - 1).getFloat(0);
      double expected = (loss - betaW) * fixture.model().layerNormEpsilon() / (s * s);
      assertEquals(
          expected, completeness, 1e-5 + 1e-2 * Math.abs(expected), "I-5 scale invariance");
    }
  }

  @ParameterizedTest
  @MethodSource("packsAndPrompts")
  void topKAutoencoderKeepsAtMostKLatentsAndWritesDecompose(
      Pack pack, String promptId, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompt(promptId);
    Scenario scenario = Scenario.LOSS_ATTN_SAE;
    try (RawActivationStore raw = fixture.rawStore(prompt, scenario);
        DerivedScalarStore store =
            derive(
                fixture,
                raw,
                scenario,
                ONLINE_ATTENTION_AUTOENCODER_LATENT,
                ATTENTION_AUTOENCODER_LATENT,
                ATTN_WRITE_SUM_HEADS);
        NDScope scope = new NDScope()) {
      for (int layer : fixture.autoencoder("attn").layers()) {
        int k =
            ((LatentActivation.TopK)
                    fixture.autoencoder("attn").autoencoder(layer).latentActivation())
                .k();
        NDArray latents = at(store, ONLINE_ATTENTION_AUTOENCODER_LATENT, layer);
        float maxNonzeroPerToken =
            latents
                .neq(0)
                .sum(new int[] {1})
                .max()
                .toType(ai.djl.ndarray.types.DataType.FLOAT32, false)
                .getFloat();
        assertTrue(
            maxNonzeroPerToken <= k, "TopK(" + k + ") latents per token: " + maxNonzeroPerToken);
        // I-9: online latents = offline latents of the same input.
        assertClose("I-9 layer " + layer, latents, at(store, ATTENTION_AUTOENCODER_LATENT, layer));
        // I-7: Σ_u ATTN_WRITE_SUM_HEADS + bO = RESID_DELTA_ATTN.
        NDArray bO =
            fixture
                .model()
                .getWeight(WeightLocationType.ATTN_TO_RESIDUAL_BIAS, layer, fixture.manager());
        assertClose(
            "I-7 layer " + layer,
            at(store, ATTN_WRITE_SUM_HEADS, layer).sum(new int[] {1}).add(bO),
            raw.get(ActivationLocationType.RESID_DELTA_ATTN, PassType.FORWARD).get(layer));
      }
    }
  }

  private static NDArray at(DerivedScalarStore store, DerivedScalarType dst, int layer) {
    return store.get(dst, PassType.FORWARD).get(layer);
  }

  private static void assertClose(String what, NDArray actual, NDArray expected) {
    assertEquals(expected.getShape(), actual.getShape(), what + ": shape");
    float[] a = actual.toFloatArray();
    float[] e = expected.toFloatArray();
    for (int i = 0; i < a.length; i++) {
      assertEquals(e[i], a[i], TOLERANCE * (1 + Math.abs(e[i])), what + " at " + i);
    }
  }

  /**
   * The (query, key ≤ query) rows of a [T, T, H] tensor in torch.tril_indices order: row t(t+1)/2 +
   * u.
   */
  private static NDArray lowerTriangleRows(NDArray unflattened) {
    int tokens = (int) unflattened.getShape().get(0);
    int heads = (int) unflattened.getShape().get(2);
    float[] values = unflattened.toFloatArray();
    float[] rows = new float[tokens * (tokens + 1) / 2 * heads];
    int row = 0;
    for (int t = 0; t < tokens; t++) {
      for (int u = 0; u <= t; u++, row++) {
        System.arraycopy(values, (t * tokens + u) * heads, rows, row * heads, heads);
      }
    }
    return unflattened.getManager().create(rows, new ai.djl.ndarray.types.Shape(row, heads));
  }
}
