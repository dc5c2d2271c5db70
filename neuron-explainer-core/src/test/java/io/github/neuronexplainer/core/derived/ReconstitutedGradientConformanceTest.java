package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The {@code *_TO_FINAL_ACTIVATION_RESIDUAL_GRAD} DSTs of the trace scenarios (harness README):
 * they need no backward pass, so the golden forward activations are enough. Traces: MLP_POST_ACT
 * at layer 1, (n−1, neuron 0), and ATTN_QK_PROBS at layer 1, (n−1, key 1, head 0); layer-norm
 * scale attached.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReconstitutedGradientConformanceTest {
  private GoldenFixture fixture;

  @BeforeAll
  void load() {
    fixture = new GoldenFixture();
  }

  @AfterAll
  void close() {
    fixture.close();
  }

  static Stream<String> prompts() {
    return ConformancePack.promptIds().stream();
  }

  private static boolean reconstituted(DerivedScalarType dst) {
    return dst.name().endsWith("_TO_FINAL_ACTIVATION_RESIDUAL_GRAD");
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void mlpTraces(String prompt) {
    int last = fixture.promptTokens(prompt).length - 1;
    TraceConfig trace =
        new TraceConfig(
            new NodeIndex(NodeType.MLP_NEURON, List.of(last, 0), 1, PassType.FORWARD),
            PreOrPostAct.POST,
            false,
            null,
            null);
    for (String scenario : List.of("trace_mlp_post_act", "trace_mlp_post_act_attn_sae")) {
      ScenarioConformance.check(
          fixture, prompt, scenario, b -> b.traceConfig(trace), ReconstitutedGradientConformanceTest::reconstituted);
    }
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void attentionTrace(String prompt) {
    int last = fixture.promptTokens(prompt).length - 1;
    TraceConfig trace =
        new TraceConfig(
            new NodeIndex(NodeType.ATTENTION_HEAD, List.of(last, 1, 0), 1, PassType.FORWARD),
            PreOrPostAct.POST,
            false,
            AttentionTraceType.QK,
            null);
    ScenarioConformance.check(
        fixture,
        prompt,
        "trace_attn_qk_probs",
        b -> b.traceConfig(trace),
        ReconstitutedGradientConformanceTest::reconstituted);
  }
}
