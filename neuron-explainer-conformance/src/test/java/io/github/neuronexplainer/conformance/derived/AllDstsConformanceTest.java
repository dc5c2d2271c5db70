package io.github.neuronexplainer.conformance.derived;

import static io.github.neuronexplainer.core.derived.DerivedScalarType.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.derived.PromptRequest;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Upstream's {@code test_all_dsts} idea: EVERY DerivedScalarType, under a trace from an MLP
 * activation and from an attention activation (the harness's TRACE_MLP_POST_ACT and
 * TRACE_ATTN_QK_PROBS call traces), with the first autoencoder setup it accepts (the MLP SAE, the
 * attention SAE, both, the RESID_DELTA_MLP SAE), runs end to end through the pack's model in one
 * call per setup. Where goldens exist EndToEndConformanceTest compares values; here every result is
 * checked for invariants: no NaN (infinities only in the masked attention logits), the rank and
 * sizes of the DST's dimensions, zeros above the causal diagonal, and act×grad consistency. The
 * DSTs still refused are exactly those the original refuses in these configurations, each with its
 * reason.
 */
@ExtendWith(PackFixtures.class)
class AllDstsConformanceTest {
  private static final Logger LOG = LoggerFactory.getLogger(AllDstsConformanceTest.class);

  private static final Set<DerivedScalarType> OUT_EDGE =
      Set.of(
          GRAD_OF_SINGLE_SUBNODE_ATTRIBUTION,
          ATTN_OUT_EDGE_ATTRIBUTION,
          MLP_OUT_EDGE_ATTRIBUTION,
          ONLINE_AUTOENCODER_OUT_EDGE_ATTRIBUTION,
          TOKEN_OUT_EDGE_ATTRIBUTION);
  private static final Set<DerivedScalarType> IN_EDGE =
      Set.of(
          SINGLE_NODE_WRITE,
          ATTN_QUERY_IN_EDGE_ATTRIBUTION,
          ATTN_KEY_IN_EDGE_ATTRIBUTION,
          ATTN_VALUE_IN_EDGE_ATTRIBUTION,
          MLP_IN_EDGE_ATTRIBUTION,
          ONLINE_AUTOENCODER_IN_EDGE_ATTRIBUTION,
          SINGLE_NODE_WRITE_TO_FINAL_RESIDUAL_GRAD,
          ATTN_QUERY_IN_EDGE_ACTIVATION,
          ATTN_KEY_IN_EDGE_ACTIVATION,
          MLP_IN_EDGE_ACTIVATION,
          ONLINE_AUTOENCODER_IN_EDGE_ACTIVATION);

  /**
   * DSTs whose DstConfig names a latent ("All", j) at one layer, as the harness's latent scenarios.
   */
  private static final Set<DerivedScalarType> LATENT_CONFIG =
      Set.of(
          AUTOENCODER_LATENT_GRAD_WRT_RESIDUAL_INPUT,
          AUTOENCODER_LATENT_GRAD_WRT_MLP_POST_ACT_INPUT,
          ATTN_WRITE_TO_LATENT,
          ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS,
          FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS,
          ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN,
          FLATTENED_ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS_BATCHED,
          ATTN_WRITE_TO_LATENT_PER_SEQUENCE_TOKEN_BATCHED);

  /** The autoencoder setups tried in order: the SAEs of the harness's loss scenarios. */
  private static final List<Scenario> SETUPS =
      List.of(
          Scenario.LOSS_MLP_SAE,
          Scenario.LOSS_ATTN_SAE,
          Scenario.LOSS_MULTI_SAE,
          Scenario.LOSS_RESID_MLP_SAE);

  /**
   * The DSTs refused in every setup, each with the reason the original refuses it too. None: with
   * the settings above (an edge node, a latent at one layer, a fake-gradient index where the DST
   * needs one) the original computes every DST ({@code fixtures/all_dsts_original.py} runs it under
   * the same configurations on both packs), and so do we.
   */
  private static final Map<DerivedScalarType, String> REFUSED_BY_THE_ORIGINAL = Map.of();

  static Stream<Arguments> packsAndTraces() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (Scenario trace : List.of(Scenario.TRACE_MLP_POST_ACT, Scenario.TRACE_ATTN_QK_PROBS)) {
        args.add(Arguments.of(pack, trace));
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("packsAndTraces")
  void everyDstRunsEndToEndAndHoldsItsInvariants(Pack pack, Scenario trace, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompts().get(0);
    Map<Scenario, List<DstAndConfig>> bySetup = new LinkedHashMap<>();
    Map<DerivedScalarType, String> refused = new EnumMap<>(DerivedScalarType.class);
    Map<Scenario, RawActivationStore> probes = new EnumMap<>(Scenario.class);
    try (NDManager probing = fixture.manager().newSubManager()) {
      for (Scenario setup : SETUPS) {
        probes.put(setup, fixture.rawStore(prompt, setup));
      }
      for (DerivedScalarType dst : DerivedScalarType.values()) {
        String lastError = null;
        DstAndConfig chosen = null;
        Scenario chosenSetup = null;
        for (Scenario setup : SETUPS) {
          for (boolean deriveGradients : new boolean[] {true, false}) {
            DstConfig config = config(fixture, prompt, trace, setup, dst, deriveGradients);
            // Probe on the golden activations: refusals surface when the deriver is built or run.
            try {
              DerivedScalarStore.deriveFromRaw(
                      probes.get(setup),
                      List.of(ScalarDerivers.makeScalarDeriver(dst, config)),
                      probing)
                  .close();
            } catch (UnsupportedDerivationException e) {
              lastError = e.getMessage();
              continue;
            } catch (IllegalArgumentException e) {
              // Packs without vocabulary-sized goldens lack LOGITS: the real pass below captures
              // them.
              if (!e.getMessage().startsWith("The raw activation store has no LOGITS")) {
                throw e;
              }
            }
            chosen = new DstAndConfig(dst, config);
            chosenSetup = setup;
            break;
          }
          if (chosen != null) {
            break;
          }
        }
        if (chosen == null) {
          refused.put(dst, lastError);
        } else {
          bySetup.computeIfAbsent(chosenSetup, k -> new ArrayList<>()).add(chosen);
        }
      }
    } finally {
      probes.values().forEach(RawActivationStore::close);
    }
    assertEquals(
        REFUSED_BY_THE_ORIGINAL.keySet(),
        refused.keySet(),
        "DSTs refused in every setup (left: the original refuses; right: ours, with reasons "
            + refused
            + ")");

    int entries = 0;
    boolean actTimesGradChecked = false;
    try (NDManager manager = fixture.manager().newSubManager()) {
      for (Map.Entry<Scenario, List<DstAndConfig>> group : bySetup.entrySet()) {
        List<AutoencoderContext> autoencoders = fixture.autoencoders(group.getKey());
        PromptRequest request =
            PromptRequest.builder(prompt.tokens())
                .trace(trace.trace(pack, prompt))
                .dsts(group.getValue())
                .build();
        try (PromptDerivedScalars result =
            DerivedScalarComputation.run(
                    fixture.model().getOrCreateModel(), autoencoders, List.of(request), manager)
                .get(0)) {
          assertFalse(Float.isNaN(result.tracedValue()), "the traced value is reported");
          DerivedScalarStore store = result.derivedScalars();
          for (DstAndConfig dstAndConfig : group.getValue()) {
            entries +=
                checkInvariants(
                    dstAndConfig.dst(),
                    store,
                    fixture,
                    prompt,
                    group.getKey().autoencoderFamilies());
          }
          actTimesGradChecked |= checkActTimesGrad(store);
        }
      }
    }
    assertTrue(
        actTimesGradChecked,
        "MLP_ACT_TIMES_GRAD and the MLP_POST_ACT gradient were never in one store");
    LOG.info(
        "{} {}: {} DSTs built and run end to end ({} refused), {} entries checked",
        pack,
        trace.value(),
        DerivedScalarType.values().length - refused.size(),
        refused.size(),
        entries);
  }

  private static DstConfig config(
      PackFixture fixture,
      Pack.Prompt prompt,
      Scenario trace,
      Scenario setup,
      DerivedScalarType dst,
      boolean deriveGradients) {
    Pack pack = fixture.pack();
    DstConfig.Builder builder = fixture.config(setup).deriveGradients(deriveGradients);
    UnaryOperator<DstConfig.Builder> settings = trace.settings(pack, prompt);
    int token = prompt.lastToken();
    if (OUT_EDGE.contains(dst)) {
      settings =
          b ->
              b.nodeIndexForAttribution(
                  new AttnSubNodeIndex(
                      NodeType.ATTENTION_HEAD,
                      List.of(token, 0, 0),
                      pack.lastLayer(),
                      PassType.FORWARD,
                      ActivationLocationType.ATTN_QUERY));
    } else if (IN_EDGE.contains(dst)) {
      settings =
          b ->
              b.nodeIndexForAttribution(
                  new NodeIndex(NodeType.MLP_NEURON, List.of(token, 0), 0, PassType.FORWARD));
    } else if (LATENT_CONFIG.contains(dst)) {
      // The latent of the setup's single SAE (multi-SAE setups are refused, as in the original).
      settings =
          (setup == Scenario.LOSS_ATTN_SAE
                  ? Scenario.TRACE_ATTN_SAE_LATENT
                  : Scenario.TRACE_MLP_SAE_LATENT)
              .settings(pack, prompt);
    } else if (dst == VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION) {
      settings =
          b ->
              b.activationIndexForFakeGrad(
                  new ActivationIndex(
                      ActivationLocationType.MLP_POST_ACT,
                      List.of(token, 0),
                      pack.lastLayer(),
                      PassType.BACKWARD));
    }
    return settings.apply(builder).build();
  }

  /** Finite values, the DST's dimensions, causal zeros; returns the number of entries checked. */
  private static int checkInvariants(
      DerivedScalarType dst,
      DerivedScalarStore store,
      PackFixture fixture,
      Pack.Prompt prompt,
      List<String> setup) {
    int checked = 0;
    List<Dimension> spec = dst.shapeSpecPerTokenSequence();
    int tokens = prompt.tokens().length;
    for (PassType pass : PassType.values()) {
      if (!store.contains(dst, pass)) {
        continue;
      }
      ActivationsAndMetadata am = store.get(dst, pass);
      assertFalse(am.isEmpty(), dst + " " + pass + " is empty");
      for (Map.Entry<Integer, NDArray> e : am.activationsByLayer().entrySet()) {
        String where = dst + " " + pass + " layer " + e.getKey();
        NDArray a = e.getValue();
        float[] values = a.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        boolean logits = dst == ATTN_QK_LOGITS;
        for (float v : values) {
          assertFalse(Float.isNaN(v), where + " has NaN");
          assertTrue(logits || Float.isFinite(v), where + " has an infinity");
        }
        long[] shape = a.getShape().getShape();
        assertEquals(spec.size(), shape.length, where + " rank vs " + spec);
        for (int i = 0; i < spec.size(); i++) {
          Integer expected =
              i == 0 && dst.isIndexedByTokenPairs()
                  ? tokens * (tokens + 1) / 2
                  : size(spec.get(i), tokens, fixture, setup);
          if (expected != null) {
            assertEquals(
                (long) expected, shape[i], where + " dimension " + i + " (" + spec.get(i) + ")");
          }
        }
        // Forward values above the causal diagonal are zero (gradients there need not be: dL/dA =
        // gradZ·V).
        if (pass == PassType.FORWARD
            && spec.size() >= 2
            && spec.get(0) == Dimension.SEQUENCE_TOKENS
            && spec.get(1) == Dimension.ATTENDED_TO_SEQUENCE_TOKENS
            && !logits) {
          long rest = values.length / (shape[0] * shape[1]);
          for (int t = 0; t < shape[0]; t++) {
            for (long u = t + 1; u < shape[1]; u++) {
              for (long r = 0; r < rest; r++) {
                float v = values[(int) ((t * shape[1] + u) * rest + r)];
                assertTrue(v == 0f, where + " above the diagonal at " + t + "," + u + ": " + v);
              }
            }
          }
        }
        checked++;
      }
    }
    return checked;
  }

  /**
   * The size of a dimension for this prompt and model, or null where it depends on the DST (e.g.
   * flattened pairs).
   */
  private static Integer size(
      Dimension dimension, int tokens, PackFixture fixture, List<String> setup) {
    return switch (dimension) {
      case SEQUENCE_TOKENS, ATTENDED_TO_SEQUENCE_TOKENS -> tokens;
      case AUTOENCODER_LATENTS ->
          setup.size() == 1 ? fixture.autoencoder(setup.get(0)).numAutoencoderDirections() : null;
      default -> dimension.isModelIntrinsic() ? fixture.model().dimensionSize(dimension) : null;
    };
  }

  /** MLP_ACT_TIMES_GRAD = MLP_POST_ACT forward × its backward, where both are in the store. */
  private static boolean checkActTimesGrad(DerivedScalarStore store) {
    if (!store.contains(MLP_ACT_TIMES_GRAD, PassType.FORWARD)
        || !store.contains(MLP_POST_ACT, PassType.BACKWARD)) {
      return false;
    }
    ActivationsAndMetadata product = store.get(MLP_ACT_TIMES_GRAD, PassType.FORWARD);
    for (int layer : product.layerIndices()) {
      NDArray expected =
          store
              .get(MLP_POST_ACT, PassType.FORWARD)
              .get(layer)
              .mul(store.get(MLP_POST_ACT, PassType.BACKWARD).get(layer));
      float diff = product.get(layer).sub(expected).abs().max().getFloat();
      assertTrue(
          diff <= 1e-6f,
          "MLP_ACT_TIMES_GRAD layer " + layer + " differs from act × grad by " + diff);
    }
    return true;
  }
}
