package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.derived.indexing.AttnSubNodeIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
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
 * Scenarios {@code edge_in_attn_head} (in-edges from attention head 0 at layer 1, query token n−1,
 * key token 1) and {@code edge_out_attn_v}: out-edge attribution into the V subnode of attention head 0
 * at layer 0, query token 1, key token 1 (the harness README's scenario table), logit-diff loss,
 * MLP SAE.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EdgeConformanceTest {
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

  @ParameterizedTest
  @MethodSource("prompts")
  void outEdgeAttributionMatchesTheOriginal(String prompt) {
    AttnSubNodeIndex node =
        new AttnSubNodeIndex(
            NodeType.ATTENTION_HEAD, List.of(1, 1, 0), 0, PassType.FORWARD, ActivationLocationType.ATTN_VALUE);
    ScenarioConformance.check(
        fixture, prompt, "edge_out_attn_v", builder -> builder.nodeIndexForAttribution(node));
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void inEdgeAttributionAndActivationMatchTheOriginal(String prompt) {
    int lastToken = fixture.promptTokens(prompt).length - 1;
    NodeIndex node = new NodeIndex(NodeType.ATTENTION_HEAD, List.of(lastToken, 1, 0), 1, PassType.FORWARD);
    ScenarioConformance.check(
        fixture, prompt, "edge_in_attn_head", builder -> builder.nodeIndexForAttribution(node));
  }
}
