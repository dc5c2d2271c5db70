package io.github.neuronexplainer.core.derived;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Data-driven conformance with the original: every DST entry of the four loss scenarios, for every
 * prompt of the manifest, derived from the golden raw activations (tolerance atol 1e-5 + rtol
 * 1e-4, as check_golden.py).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LossScenarioConformanceTest {

  private GoldenFixture fixture;

  @BeforeAll
  void load() {
    fixture = new GoldenFixture();
  }

  @AfterAll
  void close() {
    fixture.close();
  }

  static Stream<Arguments> promptsAndScenarios() {
    List<Arguments> args = new ArrayList<>();
    for (String prompt : ConformancePack.promptIds()) {
      for (String scenario : GoldenFixture.LOSS_SCENARIOS.keySet()) {
        args.add(Arguments.of(prompt, scenario));
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("promptsAndScenarios")
  void everyGoldenEntryMatches(String prompt, String scenario) {
    ScenarioConformance.check(fixture, prompt, scenario, builder -> builder);
  }
}
