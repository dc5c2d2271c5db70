package consumer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.report.HtmlReport;
import io.github.neuronexplainer.models.ActivationCache;
import io.github.neuronexplainer.models.RunRequest;
import io.github.neuronexplainer.models.SampleResult;
import io.github.neuronexplainer.models.SamplingOptions;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Loads the tiny model (args[0]), checks greedy sampling against the original's golden output and
 * writes an HTML heatmap (args[1]); exits non-zero on any difference.
 */
public final class ConsumerCheck {
  public static void main(String[] args) throws Exception {
    System.setProperty("ai.djl.offline", "true");
    try (StandardModelContext context = StandardModelContext.load(args[0]);
        NDManager manager = NDManager.newBaseManager(context.device())) {
      Transformer model = context.getOrCreateModel();
      int[] prompt = context.encode("The capital of France is");
      check(
          Arrays.equals(prompt, new int[] {464, 3139, 286, 4881, 318}),
          "tokens " + Arrays.toString(prompt));
      SampleResult sample = model.sample(List.of(prompt), SamplingOptions.greedy(5), Hooks.none());
      System.out.println(sample);
      check(
          Arrays.equals(sample.tokens().get(0), new int[] {27352, 27352, 27352, 27352, 27352}),
          "sampled " + sample);
      try (ActivationCache cache =
          model.runWithCache(
              RunRequest.builder().prompt(prompt).forward(HookPoint.MLP_POST_ACT).build(),
              manager)) {
        NDArray post = cache.get(ActivationLocationType.MLP_POST_ACT, 1, PassType.FORWARD);
        check(
            Arrays.equals(post.getShape().getShape(), new long[] {1, 5, 256}),
            "shape " + post.getShape());
        List<String> tokens = Arrays.stream(prompt).mapToObj(context::decodeToken).toList();
        Path html =
            HtmlReport.builder("consumer check")
                .tokenHeatmap("MLP L1 n0", tokens, post.get("0, :, 0").toFloatArray())
                .build()
                .write(Path.of(args[1]));
        check(Files.readString(html).contains("> France</span>"), "report " + html);
      }
    }
    System.out.println("consumer check OK");
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException("consumer check failed: " + what);
    }
  }
}
