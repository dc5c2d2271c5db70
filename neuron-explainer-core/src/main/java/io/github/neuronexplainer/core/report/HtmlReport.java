package io.github.neuronexplainer.core.report;

import static io.github.neuronexplainer.core.report.Html.color;
import static io.github.neuronexplainer.core.report.Html.escape;
import static io.github.neuronexplainer.core.report.Html.exact;
import static io.github.neuronexplainer.core.report.Html.shown;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.NeuronRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A self-contained HTML page of pictures of a model's internals: token heatmaps, attention patterns
 * per head, node tables and a neuron's top-activating excerpts. One file, no scripts, no external
 * fonts, styles or images, and a Content-Security-Policy that forbids loading anything: open it in
 * any browser, offline, or attach it to a message.
 *
 * <pre>{@code
 * HtmlReport.builder("Why Paris?")
 *     .tokenHeatmap("MLP L1 n235 act x grad", tokens, values)
 *     .attentionPatterns("Layer 0 attention", tokens, pattern)     // [heads][query][key]
 *     .nodeTable("Top nodes", NodeRow.fromTopK(store.topk(20), tokens))
 *     .neuronRecord(record, 5)
 *     .build()
 *     .write(Path.of("report.html"));
 * }</pre>
 *
 * <p>All text (token strings above all) is escaped. Colours: red for positive values, blue for
 * negative, intensity relative to the section's largest magnitude; every coloured element carries
 * its exact value in {@code data-value} and a tooltip.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not thread-safe.
 */
public final class HtmlReport {
  private static final String STYLE =
      "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#111;background:#fff}"
          + "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
          + ".tokens{font-family:ui-monospace,monospace;line-height:2;white-space:pre-wrap}"
          + ".tok{padding:2px 1px;border-radius:2px;border-right:1px solid #eee}"
          + ".legend{color:#555;font-size:12px}"
          + ".heads{display:flex;flex-wrap:wrap;gap:16px}"
          + "table.attn{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:10px}"
          + "table.attn td{width:14px;height:14px;padding:0;border:1px solid #f4f4f4}"
          + "table.attn th{font-weight:normal;text-align:right;padding-right:4px;white-space:pre}"
          + "table.nodes{border-collapse:collapse}"
          + "table.nodes td,table.nodes th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}"
          + "table.nodes .num{text-align:right;font-family:ui-monospace,monospace}"
          + ".mono{font-family:ui-monospace,monospace;white-space:pre}"
          + ".excerpt{margin:6px 0}";

  private final String title;
  private final List<String> sections;

  private HtmlReport(String title, List<String> sections) {
    this.title = title;
    this.sections = List.copyOf(sections);
  }

  /** A builder for a report titled {@code title}. */
  public static Builder builder(String title) {
    return new Builder(title);
  }

  /** The number of sections added. */
  public int sectionCount() {
    return sections.size();
  }

  /** The whole page. */
  public String html() {
    StringBuilder sb = new StringBuilder(4096);
    sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
        .append(" style-src 'unsafe-inline'\">")
        .append("<title>")
        .append(escape(title))
        .append("</title><style>")
        .append(STYLE)
        .append("</style></head>\n<body>\n<h1>")
        .append(escape(title))
        .append("</h1>\n");
    sections.forEach(s -> sb.append(s).append('\n'));
    return sb.append("</body></html>\n").toString();
  }

  /**
   * Writes the page to {@code file} (UTF-8), creating parent folders.
   *
   * @throws UncheckedIOException if it cannot be written
   */
  public Path write(Path file) {
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      return Files.writeString(file, html(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot write the HTML report to " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "HtmlReport[" + title + ", " + sections.size() + " sections]";
  }

  /** Collects the sections of a {@link HtmlReport}; not thread-safe. */
  public static final class Builder {
    private final String title;
    private final List<String> sections = new ArrayList<>();

    private Builder(String title) {
      this.title = Objects.requireNonNull(title, "title");
    }

    /**
     * A line of tokens, each shaded by its value (an activation, a gradient, act×grad, ...).
     *
     * @throws IllegalArgumentException if there is not exactly one value per token
     */
    public Builder tokenHeatmap(String caption, List<String> tokens, float[] values) {
      return tokenHeatmap(caption, tokens, toDoubles(values));
    }

    /** As {@link #tokenHeatmap(String, List, float[])}. */
    public Builder tokenHeatmap(String caption, List<String> tokens, double[] values) {
      if (tokens.size() != values.length) {
        throw new IllegalArgumentException(
            "A token heatmap needs one value per token: "
                + tokens.size()
                + " tokens, "
                + values.length
                + " values");
      }
      double maxAbs = maxAbs(values);
      StringBuilder sb =
          new StringBuilder("<section class=\"heatmap\"><h2>")
              .append(escape(caption))
              .append("</h2>\n");
      sb.append("<div class=\"tokens\">");
      appendTokens(sb, tokens, values, maxAbs);
      sb.append("</div>\n<div class=\"legend\">max |value| ")
          .append(shown(maxAbs))
          .append(" (red positive, blue negative)</div></section>");
      sections.add(sb.toString());
      return this;
    }

    /**
     * One grid per head: row = attending (query) token, column = attended-to (key) token, shaded by
     * the head's attention probability relative to its largest.
     *
     * @param pattern {@code [heads][query][key]}, each query and key dimension the prompt's length
     * @throws IllegalArgumentException if the shape does not match the tokens
     */
    public Builder attentionPatterns(String caption, List<String> tokens, float[][][] pattern) {
      int n = tokens.size();
      for (int h = 0; h < pattern.length; h++) {
        if (pattern[h].length != n) {
          throw new IllegalArgumentException(
              "Head "
                  + h
                  + " has "
                  + pattern[h].length
                  + " query rows for "
                  + n
                  + " tokens; pass [heads][query][key]");
        }
        for (float[] row : pattern[h]) {
          if (row.length != n) {
            throw new IllegalArgumentException(
                "Head "
                    + h
                    + " has a row of "
                    + row.length
                    + " keys for "
                    + n
                    + " tokens; pass [heads][query][key]");
          }
        }
      }
      StringBuilder sb =
          new StringBuilder("<section class=\"attention\"><h2>")
              .append(escape(caption))
              .append("</h2>\n<div class=\"heads\">");
      for (int h = 0; h < pattern.length; h++) {
        double max = 0;
        for (float[] row : pattern[h]) {
          for (float p : row) {
            max = Math.max(max, Math.abs(p));
          }
        }
        sb.append("<div><div class=\"legend\">head ")
            .append(h)
            .append("</div>")
            .append("<table class=\"attn\" data-head=\"")
            .append(h)
            .append("\">");
        for (int q = 0; q < n; q++) {
          sb.append("<tr><th>").append(escape(tokens.get(q))).append("</th>");
          for (int k = 0; k < n; k++) {
            float p = pattern[h][q][k];
            sb.append("<td data-value=\"")
                .append(exact(p))
                .append("\" style=\"background:")
                .append(color(p, max))
                .append("\" title=\"")
                .append(escape(tokens.get(q) + " \u2192 " + tokens.get(k) + ": " + shown(p)))
                .append("\"></td>");
          }
          sb.append("</tr>");
        }
        sb.append("</table></div>");
      }
      sb.append("</div></section>");
      sections.add(sb.toString());
      return this;
    }

    /**
     * As {@link #attentionPatterns(String, List, float[][][])} for an array of shape {@code [heads,
     * query, key]} (select the batch item and layer first).
     *
     * @throws IllegalArgumentException if the array is not 3-dimensional
     */
    public Builder attentionPatterns(String caption, List<String> tokens, NDArray pattern) {
      long[] shape = pattern.getShape().getShape();
      if (shape.length != 3) {
        throw new IllegalArgumentException(
            "An attention pattern array must be [heads, query, key],"
                + " not "
                + pattern.getShape()
                + "; select one batch item (and layer) first");
      }
      float[] flat = pattern.toType(DataType.FLOAT32, false).toFloatArray();
      int heads = (int) shape[0];
      int queries = (int) shape[1];
      int keys = (int) shape[2];
      float[][][] out = new float[heads][queries][keys];
      for (int h = 0; h < heads; h++) {
        for (int q = 0; q < queries; q++) {
          System.arraycopy(flat, (h * queries + q) * keys, out[h][q], 0, keys);
        }
      }
      return attentionPatterns(caption, tokens, out);
    }

    /** A table of nodes, in the given order, each value shaded and the top tokens listed. */
    public Builder nodeTable(String caption, List<NodeRow> rows) {
      double maxAbs = 0;
      for (NodeRow r : rows) {
        maxAbs = Double.isFinite(r.value()) ? Math.max(maxAbs, Math.abs(r.value())) : maxAbs;
      }
      StringBuilder sb =
          new StringBuilder("<section class=\"node-table\"><h2>")
              .append(escape(caption))
              .append("</h2>\n<table class=\"nodes\"><thead><tr>")
              .append("<th>node</th><th>layer</th><th>token</th><th>value</th>")
              .append("<th>top upvoted</th><th>top downvoted</th></tr></thead><tbody>");
      for (NodeRow r : rows) {
        sb.append("<tr data-node=\"")
            .append(escape(r.label()))
            .append("\"><td>")
            .append(escape(r.label()))
            .append("</td><td class=\"num\">")
            .append(r.layer() < 0 ? "" : Integer.toString(r.layer()))
            .append("</td><td class=\"mono\">")
            .append(r.tokenIndex() < 0 ? "" : escape(r.tokenIndex() + " " + quoted(r.token())))
            .append("</td><td class=\"num\" data-value=\"")
            .append(exact(r.value()))
            .append("\" style=\"background:")
            .append(color(r.value(), maxAbs))
            .append("\">")
            .append(shown(r.value()))
            .append("</td><td class=\"mono\">")
            .append(tokenList(r.topUpvotedTokens()))
            .append("</td><td class=\"mono\">")
            .append(tokenList(r.topDownvotedTokens()))
            .append("</td></tr>");
      }
      sb.append("</tbody></table></section>");
      sections.add(sb.toString());
      return this;
    }

    /**
     * A neuron's (or latent's, or head's) top-activating excerpts, at most {@code maxExcerpts},
     * each token shaded by its activation relative to the record's largest activation, with the
     * record's statistics.
     */
    public Builder neuronRecord(NeuronRecord record, int maxExcerpts) {
      if (maxExcerpts < 1) {
        throw new IllegalArgumentException("maxExcerpts must be at least 1, got " + maxExcerpts);
      }
      List<ActivationRecord> top = record.mostPositiveActivationRecords();
      double max = 0;
      for (ActivationRecord r : top) {
        max = Math.max(max, maxAbs(r.activationArray()));
      }
      StringBuilder sb =
          new StringBuilder("<section class=\"neuron-record\"><h2>")
              .append(
                  escape(
                      "Layer "
                          + record.neuronId().layerIndex()
                          + ", neuron "
                          + record.neuronId().neuronIndex()))
              .append("</h2>\n<div class=\"legend\">")
              .append(top.size())
              .append(" top-activating records; max activation ")
              .append(shown(max));
      if (record.mean() != null && Double.isFinite(record.mean())) {
        sb.append("; mean ").append(shown(record.mean()));
      }
      sb.append("</div>\n");
      for (int i = 0; i < Math.min(maxExcerpts, top.size()); i++) {
        ActivationRecord r = top.get(i);
        double[] values = r.activationArray();
        if (values.length != r.tokens().size()) {
          throw new IllegalArgumentException(
              "Top record "
                  + i
                  + " of "
                  + record.neuronId()
                  + " has "
                  + r.tokens().size()
                  + " tokens but "
                  + values.length
                  + " activations");
        }
        sb.append("<div class=\"excerpt tokens\" data-excerpt=\"").append(i).append("\">");
        appendTokens(sb, r.tokens(), values, max);
        sb.append("</div>\n");
      }
      sections.add(sb.append("</section>").toString());
      return this;
    }

    public HtmlReport build() {
      return new HtmlReport(title, sections);
    }

    private static void appendTokens(
        StringBuilder sb, List<String> tokens, double[] values, double maxAbs) {
      for (int i = 0; i < values.length; i++) {
        sb.append("<span class=\"tok\" data-index=\"")
            .append(i)
            .append("\" data-value=\"")
            .append(exact(values[i]))
            .append("\" style=\"background:")
            .append(color(values[i], maxAbs))
            .append("\" title=\"")
            .append(escape(i + " " + quoted(tokens.get(i)) + ": " + shown(values[i])))
            .append("\">")
            .append(escape(tokens.get(i)))
            .append("</span>");
      }
    }

    private static String tokenList(List<String> tokens) {
      List<String> quoted = new ArrayList<>(tokens.size());
      tokens.forEach(t -> quoted.add(quoted(t)));
      return escape(String.join(" ", quoted));
    }

    /** A token in double quotes, so that leading spaces show. */
    private static String quoted(String token) {
      return "\"" + token + "\"";
    }

    private static double[] toDoubles(float[] values) {
      double[] out = new double[values.length];
      for (int i = 0; i < values.length; i++) {
        out[i] = values[i];
      }
      return out;
    }

    private static double maxAbs(double[] values) {
      double max = 0;
      for (double v : values) {
        if (Double.isFinite(v)) {
          max = Math.max(max, Math.abs(v));
        }
      }
      return max;
    }
  }
}
