package io.github.neuronexplainer.conformance.derived;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.derived.Ablation;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.derived.PromptRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The runner's batching and validation on every pack: a batch of prompts of different lengths with
 * different losses, traces and ablations gives each prompt what running it alone gives; an ablation
 * changes only its own prompt; bad indices are refused with the valid range.
 */
@ExtendWith(PackFixtures.class)
class RunnerBatchConformanceTest {
  static Stream<Pack> packs() {
    return Pack.all().stream();
  }

  private static List<DstAndConfig> dsts(PackFixture fixture) {
    DstConfig config = DstConfig.builder().modelContext(fixture.model()).build();
    return List.of(
        new DstAndConfig(DerivedScalarType.MLP_ACT_TIMES_GRAD, config),
        new DstAndConfig(DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD, config),
        new DstAndConfig(DerivedScalarType.MLP_POST_ACT, config));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void aBatchGivesEachPromptWhatItGetsAlone(Pack pack, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Transformer model = fixture.model().getOrCreateModel();
    List<PromptRequest> requests = new ArrayList<>();
    for (Pack.Prompt prompt : pack.prompts()) {
      PromptRequest clean =
          PromptRequest.builder(prompt.tokens())
              .loss(Loss.logitDiff(prompt.targetToken(), prompt.distractorToken()))
              .dsts(dsts(fixture))
              .build();
      requests.add(clean);
      requests.add(
          clean.toBuilder()
              .ablation(
                  new Ablation(
                      new ActivationIndex(
                          ActivationLocationType.MLP_POST_ACT,
                          Arrays.asList(null, 1),
                          0,
                          PassType.FORWARD),
                      0f))
              .build());
      requests.add(
          PromptRequest.builder(prompt.tokens())
              .trace(
                  new TraceConfig(
                      new NodeIndex(
                          NodeType.ATTENTION_HEAD,
                          List.of(prompt.lastToken(), 0, 0),
                          pack.lastLayer(),
                          PassType.FORWARD),
                      PreOrPostAct.PRE,
                      true,
                      AttentionTraceType.Q,
                      null))
              .dsts(dsts(fixture))
              .build());
    }
    try (NDManager manager = NDManager.newBaseManager()) {
      List<PromptDerivedScalars> batched =
          DerivedScalarComputation.run(model, List.of(), requests, manager);
      for (int i = 0; i < requests.size(); i++) {
        try (PromptDerivedScalars alone =
            DerivedScalarComputation.run(model, List.of(), List.of(requests.get(i)), manager)
                .get(0)) {
          PromptDerivedScalars together = batched.get(i);
          assertClose(alone.loss(), together.loss(), "loss of prompt " + i);
          assertClose(alone.tracedValue(), together.tracedValue(), "traced value of prompt " + i);
          for (DstAndConfig dst : requests.get(i).dsts()) {
            for (int layer = 0; layer < pack.nLayers(); layer++) {
              NDArray a = alone.derivedScalars().get(dst.dst(), PassType.FORWARD).get(layer);
              NDArray b = together.derivedScalars().get(dst.dst(), PassType.FORWARD).get(layer);
              assertEquals(a.getShape(), b.getShape(), dst.dst() + " shape");
              float error = a.sub(b).abs().max().getFloat();
              assertTrue(
                  error <= 1e-5f + 1e-4f * a.abs().max().getFloat(),
                  dst.dst()
                      + " layer "
                      + layer
                      + " of prompt "
                      + i
                      + ": batched differs by "
                      + error);
            }
          }
        }
      }
      // The ablated neuron is 0 at every token in its prompt, and unchanged in the clean one.
      NDArray ablated =
          batched
              .get(1)
              .derivedScalars()
              .get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD)
              .get(0);
      NDArray clean =
          batched
              .get(0)
              .derivedScalars()
              .get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD)
              .get(0);
      assertEquals(0f, ablated.get(":, 1").abs().max().getFloat());
      assertTrue(clean.get(":, 1").abs().max().getFloat() > 0f);
      assertTrue(batched.get(2).tracedValue() != 0f && !Float.isNaN(batched.get(2).tracedValue()));
      batched.forEach(PromptDerivedScalars::close);
    }
  }

  /**
   * A trace through V (batched: with and without a downstream node) back-propagates from the head's
   * direct effect, which the engine also derives from forward activations: the head's write onto
   * the loss's final-residual gradient (final layer norm scale detached, as the debugger does), or
   * onto the downstream node's reconstituted gradient.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void aTraceThroughVIsTheHeadsDirectEffect(Pack pack, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Transformer model = fixture.model().getOrCreateModel();
    Pack.Prompt prompt = pack.prompts().get(0);
    int last = prompt.lastToken();
    int head = fixture.model().nAttentionHeads() - 1;
    NodeIndex headNode =
        new NodeIndex(NodeType.ATTENTION_HEAD, List.of(last, 1, head), 0, PassType.FORWARD);
    TraceConfig downstream =
        new TraceConfig(
            new NodeIndex(
                NodeType.MLP_NEURON, List.of(last, 1), pack.lastLayer(), PassType.FORWARD),
            PreOrPostAct.POST,
            true,
            null,
            null);
    Loss loss = Loss.logitDiff(prompt.targetToken(), prompt.distractorToken());
    DstConfig plain = DstConfig.builder().modelContext(fixture.model()).build();
    PromptRequest reference =
        PromptRequest.builder(prompt.tokens())
            .loss(loss)
            .ablation(
                new Ablation(
                    new ActivationIndex(
                        ActivationLocationType.RESID_FINAL_LAYER_NORM_SCALE,
                        Arrays.asList(null, null),
                        -1,
                        PassType.BACKWARD),
                    0f))
            .dst(
                new DstAndConfig(
                    DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD, plain))
            .dst(
                new DstAndConfig(
                    DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
                    plain.toBuilder().traceConfig(downstream).build()))
            .build();
    PromptRequest onLoss =
        PromptRequest.builder(prompt.tokens())
            .loss(loss)
            .trace(new TraceConfig(headNode, PreOrPostAct.POST, true, AttentionTraceType.V, null))
            .build();
    PromptRequest onNode =
        PromptRequest.builder(prompt.tokens())
            .trace(
                new TraceConfig(
                    headNode, PreOrPostAct.POST, true, AttentionTraceType.V, downstream))
            .build();
    try (NDManager manager = NDManager.newBaseManager()) {
      List<PromptDerivedScalars> out =
          DerivedScalarComputation.run(
              model, List.of(), List.of(reference, onLoss, onNode), manager);
      float toLoss =
          out.get(0)
              .derivedScalars()
              .get(
                  DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_RESIDUAL_GRAD, PassType.FORWARD)
              .get(0)
              .getFloat(last, 1, head);
      float toNode =
          out.get(0)
              .derivedScalars()
              .get(
                  DerivedScalarType.UNFLATTENED_ATTN_WRITE_TO_FINAL_ACTIVATION_RESIDUAL_GRAD,
                  PassType.FORWARD)
              .get(0)
              .getFloat(last, 1, head);
      assertTrue(toLoss != 0f && toNode != 0f, "the head writes onto both directions");
      assertClose(toLoss, out.get(1).tracedValue(), "direct effect on the loss");
      assertClose(out.get(0).loss(), out.get(1).loss(), "loss reported beside the trace");
      assertClose(toNode, out.get(2).tracedValue(), "direct effect on the downstream neuron");
      assertTrue(Float.isNaN(out.get(2).loss()), "no loss without one");
      out.forEach(PromptDerivedScalars::close);
      assertThrows(
          UnsupportedDerivationException.class,
          () ->
              DerivedScalarComputation.run(
                  model,
                  List.of(),
                  List.of(
                      PromptRequest.builder(prompt.tokens())
                          .trace(
                              new TraceConfig(
                                  headNode, PreOrPostAct.POST, true, AttentionTraceType.V, null))
                          .build()),
                  manager),
          "a trace through V onto the loss without a loss");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void badIndicesAreRefusedWithTheValidRange(Pack pack, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Transformer model = fixture.model().getOrCreateModel();
    Pack.Prompt prompt = pack.prompts().get(0);
    int n = prompt.tokens().length;
    int dMlp = fixture.model().nNeurons();
    PromptRequest base =
        PromptRequest.builder(prompt.tokens())
            .loss(Loss.logitDiff(prompt.targetToken(), prompt.distractorToken()))
            .dsts(dsts(fixture))
            .build();
    try (NDManager manager = NDManager.newBaseManager()) {
      IllegalArgumentException token =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  DerivedScalarComputation.run(
                      model,
                      List.of(),
                      List.of(
                          base.toBuilder()
                              .ablation(
                                  Ablation.ofNode(
                                      new NodeIndex(
                                          NodeType.MLP_NEURON, List.of(n, 0), 0, PassType.FORWARD),
                                      0f))
                              .build()),
                      manager));
      assertTrue(token.getMessage().contains("0.." + (n - 1)), token.getMessage());
      IllegalArgumentException neuron =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  DerivedScalarComputation.run(
                      model,
                      List.of(),
                      List.of(
                          base.toBuilder()
                              .ablation(
                                  Ablation.ofNode(
                                      new NodeIndex(
                                          NodeType.MLP_NEURON,
                                          List.of(0, dMlp),
                                          0,
                                          PassType.FORWARD),
                                      0f))
                              .build()),
                      manager));
      assertTrue(neuron.getMessage().contains("0.." + (dMlp - 1)), neuron.getMessage());
      IllegalArgumentException trace =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  DerivedScalarComputation.run(
                      model,
                      List.of(),
                      List.of(
                          base.toBuilder()
                              .trace(
                                  TraceConfig.fromActivationIndex(
                                      new ActivationIndex(
                                          ActivationLocationType.MLP_POST_ACT,
                                          List.of(n + 3, 0),
                                          0,
                                          PassType.FORWARD)))
                              .build()),
                      manager));
      assertTrue(trace.getMessage().contains("0.." + (n - 1)), trace.getMessage());
      assertThrows(
          UnsupportedDerivationException.class,
          () ->
              DerivedScalarComputation.run(
                  model,
                  List.of(),
                  List.of(PromptRequest.builder(prompt.tokens()).dsts(dsts(fixture)).build()),
                  manager),
          "gradients without a loss or trace");
      assertThrows(
          UnsupportedDerivationException.class,
          () ->
              DerivedScalarComputation.run(
                  model,
                  List.of(),
                  List.of(
                      base.toBuilder()
                          .ablation(
                              Ablation.ofNode(
                                  new NodeIndex(
                                      NodeType.MLP_AUTOENCODER_LATENT,
                                      List.of(0, 0),
                                      0,
                                      PassType.FORWARD),
                                  0f))
                          .build()),
                  manager),
          "a latent ablation without its autoencoder");
    }
  }

  private static void assertClose(float expected, float actual, String what) {
    if (Float.isNaN(expected)) {
      assertTrue(Float.isNaN(actual), what);
    } else {
      assertEquals(expected, actual, 1e-5 + 1e-4 * Math.abs(expected), what);
    }
  }
}
