package io.github.neuronexplainer.core.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Renders a report with every kind of section in headless Chromium (skipped without chromium). */
class HtmlReportRenderTest {
  private static HeadlessChromium chromium;

  @BeforeAll
  static void findChromium() {
    Optional<HeadlessChromium> found = HeadlessChromium.find();
    assumeTrue(
        found.isPresent(),
        "no chromium on the PATH (or in $CHROMIUM): install Debian's chromium package to render reports");
    chromium = found.get();
  }

  @Test
  void theDomHoldsEveryValueOfEverySection(@TempDir Path dir) throws Exception {
    Path page = ReportSamples.fullReport().write(dir.resolve("report.html"));
    String dom = chromium.dumpDom(page, dir);

    assertEquals(1, count(dom, "<section class=\"heatmap\">"));
    for (int i = 0; i < ReportSamples.HEATMAP.length; i++) {
      assertTrue(
          dom.contains("data-index=\"" + i + "\" data-value=\"" + ReportSamples.HEATMAP[i] + "\""),
          "token " + i);
    }
    assertTrue(dom.contains("> France</span>"), dom);
    assertEquals(2, count(dom, "<table class=\"attn\""));
    assertEquals(2 * 5 * 5, count(dom, "<td data-value="));
    assertTrue(
        dom.contains("<td data-value=\"0.5\""), "head 0, query 1 attends half to each token");
    assertTrue(
        dom.contains("<td data-value=\"0.6666667\""),
        "head 1, query 1 attends 2/3 to the first token");
    assertTrue(
        dom.contains(
            "<tr data-node=\"MLP L1 n235\"><td>MLP L1 n235</td><td class=\"num\">1</td>"
                + "<td class=\"mono\">3 \" France\"</td><td class=\"num\" data-value=\"3.0\""),
        dom);
    assertTrue(dom.contains("\" Paris\" \" Lyon\"</td><td class=\"mono\">\" London\"</td>"), dom);
    assertTrue(dom.contains("<td class=\"num\" data-value=\"-0.5\""), dom);
    assertEquals(2, count(dom, "class=\"excerpt tokens\""));
    assertTrue(dom.contains("Layer 1, neuron 235"), dom);
    assertTrue(dom.contains(">Paris</span>") && dom.contains("> &lt;Paris&gt;</span>"), dom);
  }

  @Test
  void theScreenshotShowsTheColouredSections(@TempDir Path dir) throws Exception {
    Path page = ReportSamples.fullReport().write(dir.resolve("report.html"));
    Path png = chromium.screenshot(page, dir.resolve("report.png"), 900, 1000, dir);
    assertTrue(Files.size(png) > 5_000, "screenshot of " + Files.size(png) + " bytes");
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(900, image.getWidth());
    assertEquals(1000, image.getHeight());
    int strongRed = 0;
    int blue = 0;
    int nonWhite = 0;
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        int rgb = image.getRGB(x, y) & 0xffffff;
        int r = rgb >> 16;
        int g = (rgb >> 8) & 0xff;
        int b = rgb & 0xff;
        colours.add(rgb);
        nonWhite += rgb != 0xffffff ? 1 : 0;
        strongRed += r > 200 && g < 80 && b < 80 ? 1 : 0; // " France" (3.0) is rgba(220,38,38,1)
        blue += b > 200 && b - r > 30 ? 1 : 0; // " of" (-0.75) and the negative node, light blue
      }
    }
    assertTrue(nonWhite > 20_000, nonWhite + " non-white pixels");
    assertTrue(strongRed > 100, strongRed + " strongly red pixels");
    assertTrue(blue > 50, blue + " blue pixels");
    assertTrue(colours.size() > 50, colours.size() + " distinct colours");
  }

  private static int count(String text, String needle) {
    Matcher m = Pattern.compile(Pattern.quote(needle)).matcher(text);
    int n = 0;
    while (m.find()) {
      n++;
    }
    return n;
  }
}
