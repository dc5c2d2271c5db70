package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Scenarios {@code trace_mlp_sae_latent}, {@code trace_attn_sae_latent} (trace config ("All", j)
 * on the latent dst.json's {@code traced_latents} names, layer_indices [1]) and {@code
 * latent_batched_attn_sae} (layer_indices [1], no trace): the autoencoder-gradient and
 * attention→latent DSTs, which read forward activations only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LatentGradientConformanceTest {
  private static final int LAYER = 1;
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

  private static TraceConfig latentTrace(int latent) {
    return new TraceConfig(
        new NodeIndex(NodeType.AUTOENCODER_LATENT, Arrays.asList(null, latent), LAYER, PassType.FORWARD),
        PreOrPostAct.POST,
        true,
        null,
        null);
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void latentGradientsAndAttentionWritesToLatents(String prompt) {
    var traced = GoldenFixture.dstJson(prompt).get("traced_latents");
    ScenarioConformance.check(
        fixture,
        prompt,
        "trace_mlp_sae_latent",
        b -> b.layerIndices(List.of(LAYER)).traceConfig(latentTrace(traced.get("mlp").asInt())));
    ScenarioConformance.check(
        fixture,
        prompt,
        "trace_attn_sae_latent",
        b -> b.layerIndices(List.of(LAYER)).traceConfig(latentTrace(traced.get("attn").asInt())));
    ScenarioConformance.check(
        fixture, prompt, "latent_batched_attn_sae", b -> b.layerIndices(List.of(LAYER)));
  }
}
