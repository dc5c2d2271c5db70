package io.github.neuronexplainer.core.derived;


import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The registry of derivers (the original's {@code make_scalar_deriver} and {@code
 * _DERIVED_SCALAR_TYPE_REGISTRY}): maps every implemented DST to the factory of its family
 * (residual stream, MLP, attention, autoencoders, edges, latent gradients, reconstituted
 * gradients), which builds the {@link ScalarDeriver} for a config or refuses the combination with
 * an {@link UnsupportedDerivationException} for the original's reasons. See DERIVED_SCALARS.md for
 * the structure and how to add a DST.
 *
 * <p>Immutable after class initialization and thread-safe.
 */
public final class ScalarDerivers {
  private ScalarDerivers() {}

  private static final Map<DerivedScalarType, DeriverFactory> FACTORIES = registerFamilies();

  /** The DSTs this registry can build (the others are refused with "not implemented"). */
  public static final Set<DerivedScalarType> IMPLEMENTED =
      Collections.unmodifiableSet(EnumSet.copyOf(FACTORIES.keySet()));

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
    return Collections.unmodifiableMap(factories);
  }

  /**
   * The deriver of {@code dst} under {@code config}.
   *
   * @throws UnsupportedDerivationException for combinations the original refuses (a missing or
   *     ambiguous autoencoder, a missing trace config or fake-gradient index, derive_gradients for
   *     DSTs that reject it) and for DSTs this port does not implement yet
   */
  public static ScalarDeriver makeScalarDeriver(DerivedScalarType dst, DstConfig config) {
    DeriverFactory factory = FACTORIES.get(dst);
    if (factory == null) {
      throw DeriverSupport.notImplemented(dst);
    }
    return factory.make(dst, config);
  }

}
