package io.github.neuronexplainer.debugger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.neuronexplainer.debugger.api.TokenAndAttentionScalars;
import io.github.neuronexplainer.debugger.postprocessing.AttentionScalarsNormalizer;
import java.util.List;
import org.junit.jupiter.api.Test;

class AttentionScalarsNormalizerTest {
  @Test
  void normalizesByTheLargestPositiveValueWithTheOriginalsEpsilon() {
    List<TokenAndAttentionScalars> out =
        AttentionScalarsNormalizer.normalize(
            List.of(
                new AttentionScalarsNormalizer.Row("a", List.of(2.0)),
                new AttentionScalarsNormalizer.Row("b", List.of(1.0, -1.0))));
    assertEquals(2.0 / (2.0 - 1e-5), out.get(0).normalizedScalars().get(0), 0);
    assertEquals(0.0, out.get(1).normalizedScalars().get(1), 0);
    assertEquals(0.0, out.get(1).totalScalarIn(), 0);
    assertEquals(3.0, out.get(0).totalScalarOut(), 0); // 2 (a→a) + 1 (b→a)
    assertEquals(-1.0, out.get(1).maxScalarOut(), 0);
    assertEquals(1.0, out.get(1).maxScalarIn(), 0);
    assertEquals(1.0 / (2.0 - 1e-5), out.get(1).normalizedMaxScalarIn(), 0);
  }
}
