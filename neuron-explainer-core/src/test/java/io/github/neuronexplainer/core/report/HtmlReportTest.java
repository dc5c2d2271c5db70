package io.github.neuronexplainer.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.PassType;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
  private static final List<String> TOKENS =
      List.of("The", " <b>bold</b>", " & \"quoted\"", "\u0000");

  @Test
  void tokenStringsAreEscapedEverywhere() {
    String html =
        HtmlReport.builder("<script>alert(1)</script>")
            .tokenHeatmap("caption <i>", TOKENS, new float[] {1f, -0.5f, 0.25f, 0f})
            .attentionPatterns("attn", TOKENS, ReportSamples.causalPattern(2, TOKENS.size()))
            .nodeTable(
                "nodes",
                List.of(
                    new NodeRow(
                        "MLP L0 n1",
                        0,
                        1,
                        " <b>bold</b>",
                        2.0,
                        List.of("<up>"),
                        List.of("'down'"))))
            .build()
            .html();
    assertFalse(html.contains("<script"), html);
    assertFalse(html.contains("<b>"), html);
    assertFalse(html.contains("<i>"), html);
    assertFalse(html.contains("<up>"), html);
    assertFalse(html.contains("\u0000"), html);
    assertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), html);
    assertTrue(html.contains(">The</span><span"), html);
    assertTrue(html.contains("> &lt;b&gt;bold&lt;/b&gt;</span>"), html);
    assertTrue(html.contains("> &amp; &quot;quoted&quot;</span>"), html);
    assertTrue(html.contains("&quot;&#39;down&#39;&quot;"), html);
  }

  @Test
  void thePageLoadsNothing() {
    String html = ReportSamples.fullReport().html();
    assertTrue(
        html.contains(
            "Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\""));
    for (String forbidden :
        List.of(
            "<script", "<link", "<img", "<iframe", "src=", "url(", "@import", "http:", "https:")) {
      assertFalse(html.contains(forbidden), forbidden);
    }
  }

  @Test
  void everyValueIsInTheDomWithItsColour() {
    String html =
        HtmlReport.builder("t")
            .tokenHeatmap("h", List.of("a", "b", "c"), new float[] {2f, -1f, 0.1f})
            .build()
            .html();
    assertTrue(
        html.contains(
            "data-index=\"0\" data-value=\"2.0\" style=\"background:rgba(220,38,38,1.000)\""),
        html);
    assertTrue(
        html.contains(
            "data-index=\"1\" data-value=\"-1.0\" style=\"background:rgba(37,99,235,0.500)\""),
        html);
    assertTrue(
        html.contains(
            "data-index=\"2\" data-value=\"0.1\" style=\"background:rgba(220,38,38,0.050)\""),
        html);
    assertTrue(html.contains("max |value| 2.000"), html);
  }

  @Test
  void shapesThatDoNotMatchTheTokensAreRefused() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> HtmlReport.builder("t").tokenHeatmap("h", List.of("a", "b"), new float[] {1f}));
    assertEquals("A token heatmap needs one value per token: 2 tokens, 1 values", e.getMessage());
    IllegalArgumentException attn =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                HtmlReport.builder("t")
                    .attentionPatterns("a", List.of("a", "b"), new float[1][2][3]));
    assertEquals(
        "Head 0 has a row of 3 keys for 2 tokens; pass [heads][query][key]", attn.getMessage());
  }

  @Test
  void topKResultsBecomeLabelledRows() {
    ActivationsAndMetadata.TopK topK =
        new ActivationsAndMetadata.TopK(
            new float[] {3.5f, -1.25f},
            List.of(
                new DerivedScalarIndex(
                    DerivedScalarType.MLP_POST_ACT, List.of(2, 235), 1, PassType.FORWARD),
                new DerivedScalarIndex(
                    DerivedScalarType.UNFLATTENED_ATTN_ACT_TIMES_GRAD,
                    Arrays.asList(3, 0, 2),
                    0,
                    PassType.FORWARD)));
    List<NodeRow> rows = NodeRow.fromTopK(topK, List.of("The", " capital", " of", " France"));
    assertEquals(
        List.of(
            new NodeRow("MLP L1 n235", 1, 2, " of", 3.5, List.of(), List.of()),
            new NodeRow("attn L0 h2 (to 0)", 0, 3, " France", -1.25, List.of(), List.of())),
        rows);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> NodeRow.fromTopK(topK, List.of("The")));
    assertTrue(
        e.getMessage().contains("is at token 2 but the prompt has 1 tokens"), e.getMessage());
  }
}
