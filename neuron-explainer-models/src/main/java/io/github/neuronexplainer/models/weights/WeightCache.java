package io.github.neuronexplainer.models.weights;

import java.nio.file.Path;

/**
 * Location of the disk cache for downloaded weights.
 *
 * <p>Thread-safety: stateless, safe for concurrent use.
 */
public final class WeightCache {
  /** System property that overrides the cache folder. */
  public static final String CACHE_DIR_PROPERTY = "neuronexplainer.cache.dir";

  /** Environment variable that sets the cache folder when the property is absent. */
  public static final String CACHE_DIR_ENV = "NEURON_EXPLAINER_CACHE_DIR";

  private WeightCache() {}

  /**
   * The system property {@value #CACHE_DIR_PROPERTY}, else the environment variable {@value
   * #CACHE_DIR_ENV}, else {@code ~/.cache/neuron-explainer}.
   */
  public static Path defaultDir() {
    String property = System.getProperty(CACHE_DIR_PROPERTY);
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    String env = System.getenv(CACHE_DIR_ENV);
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "neuron-explainer");
  }
}
