package io.github.neuronexplainer.core.derived;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

/**
 * The registry of derivers (the original's {@code make_scalar_deriver} and {@code
 * _DERIVED_SCALAR_TYPE_REGISTRY}): maps every implemented DST to the factory of its family
 * (residual stream, MLP, attention, autoencoders, edges, latent gradients, reconstituted gradients;
 * every DST has one, checked when the class loads), which builds the {@link ScalarDeriver} for a
 * config or refuses the combination with an {@link UnsupportedDerivationException} for the
 * original's reasons. See DERIVED_SCALARS.md for the structure and how to add a DST.
 *
 * <p>Immutable after class initialization and thread-safe.
 */
public final class ScalarDerivers {
  private ScalarDerivers() {}

  private static final Map<DerivedScalarType, DeriverFactory> FACTORIES = registerFamilies();

  private static Map<DerivedScalarType, DeriverFactory> registerFamilies() {
    Map<DerivedScalarType, DeriverFactory> factories = new EnumMap<>(DerivedScalarType.class);
    List<Map<DerivedScalarType, DeriverFactory>> families =
        List.of(
            ResidualDerivers.factories(),
            MlpDerivers.factories(),
            AttentionDerivers.factories(),
            AutoencoderDerivers.factories(),
            EdgeAttributionDerivers.factories(),
            LatentGradientDerivers.factories(),
            ReconstitutedGradientDerivers.factories());
    for (Map<DerivedScalarType, DeriverFactory> family : families) {
      family.forEach(
          (dst, factory) -> {
            if (factories.put(dst, factory) != null) {
              throw new IllegalStateException(dst + " is registered by two deriver families");
            }
          });
    }
    EnumSet<DerivedScalarType> missing = EnumSet.complementOf(EnumSet.copyOf(factories.keySet()));
    if (!missing.isEmpty()) {
      throw new IllegalStateException("No deriver family registers " + missing);
    }
    return Collections.unmodifiableMap(factories);
  }

  /**
   * The deriver of {@code dst} under {@code config}.
   *
   * @throws UnsupportedDerivationException for combinations the original refuses (a missing or
   *     ambiguous autoencoder, a missing trace config, fake-gradient index or attribution node,
   *     derive_gradients for DSTs that reject it)
   */
  public static ScalarDeriver makeScalarDeriver(DerivedScalarType dst, DstConfig config) {
    return FACTORIES.get(dst).make(dst, config);
  }
}
