package io.github.neuronexplainer.core.report;

import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import java.util.List;

/** Small inputs for report tests, with values the tests look for in the page. */
final class ReportSamples {
  static final List<String> PROMPT = List.of("The", " capital", " of", " France", " is");
  static final float[] HEATMAP = {0.0f, 1.5f, -0.75f, 3.0f, 0.25f};

  private ReportSamples() {}

  /**
   * {@code heads} causal patterns: each query attends uniformly to the keys up to itself, head h
   * tilted towards the first token by h.
   */
  static float[][][] causalPattern(int heads, int n) {
    float[][][] p = new float[heads][n][n];
    for (int h = 0; h < heads; h++) {
      for (int q = 0; q < n; q++) {
        float sum = 0;
        for (int k = 0; k <= q; k++) {
          p[h][q][k] = k == 0 ? 1 + h : 1;
          sum += p[h][q][k];
        }
        for (int k = 0; k <= q; k++) {
          p[h][q][k] /= sum;
        }
      }
    }
    return p;
  }

  static NeuronRecord neuronRecord() {
    return NeuronRecord.of(
        new NeuronId(235, 1),
        List.of(
            ActivationRecord.of(List.of("Paris", " is", " lovely"), List.of(4.0, 0.5, 0.0)),
            ActivationRecord.of(List.of("in", " <Paris>"), List.of(0.0, 2.0))),
        List.of());
  }

  static HtmlReport fullReport() {
    return HtmlReport.builder("Report test")
        .tokenHeatmap("MLP L1 n235 activation", PROMPT, HEATMAP)
        .attentionPatterns("Layer 0 attention", PROMPT, causalPattern(2, PROMPT.size()))
        .nodeTable(
            "Top nodes",
            List.of(
                new NodeRow(
                    "MLP L1 n235",
                    1,
                    3,
                    " France",
                    3.0,
                    List.of(" Paris", " Lyon"),
                    List.of(" London")),
                new NodeRow("attn L0 h1", 0, 4, " is", -0.5, List.of(), List.of())))
        .neuronRecord(neuronRecord(), 5)
        .build();
  }
}
