package io.github.neuronexplainer.core.derived;

/**
 * Builds the deriver of one DST under a config, or refuses the combination with an {@link
 * UnsupportedDerivationException}. Every family registers one factory per DST it implements.
 */
@FunctionalInterface
interface DeriverFactory {
  ScalarDeriver make(DerivedScalarType dst, DstConfig config);
}
