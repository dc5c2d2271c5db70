package io.github.neuronexplainer.conformance;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * The pack lifecycle, as a JUnit extension: a test class annotated with
 * {@code @ExtendWith(PackFixtures.class)} gets a {@code PackFixtures} parameter, whose {@link
 * #of(Pack)} loads a pack's model and SAEs once per test run (shared by every test class) and
 * closes them when the run ends.
 *
 * <p>Thread-safe.
 */
public final class PackFixtures implements ParameterResolver, AutoCloseable {
  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(PackFixtures.class);

  private final Map<Pack, PackFixture> loaded = new LinkedHashMap<>();

  /** The pack's fixture, loaded on first use. */
  public synchronized PackFixture of(Pack pack) {
    return loaded.computeIfAbsent(pack, PackFixture::new);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == PackFixtures.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    // The root store outlives every test class and closes what it holds when the run ends.
    return context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(PackFixtures.class, key -> new PackFixtures(), PackFixtures.class);
  }

  @Override
  public synchronized void close() {
    loaded.values().forEach(PackFixture::close);
    loaded.clear();
  }
}
