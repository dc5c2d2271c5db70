package io.github.neuronexplainer.debugger.api;

/**
 * For each attention-autoencoder latent of an earlier top-k spec, the {@code numTokensAttendedTo}
 * earlier tokens whose attention writes drive it most (the original's {@code
 * TokenPairAttributionRequestSpec}).
 *
 * <p>Immutable and thread-safe.
 */
public record TokenPairAttributionRequestSpec(Integer numTokensAttendedTo, String dependsOnSpecName)
    implements ProcessingRequestSpec {

  public TokenPairAttributionRequestSpec {
    Immutable.required(
        numTokensAttendedTo, "numTokensAttendedTo", "TokenPairAttributionRequestSpec");
    Immutable.required(dependsOnSpecName, "dependsOnSpecName", "TokenPairAttributionRequestSpec");
  }

  @Override
  public SpecType specType() {
    return SpecType.TOKEN_PAIR_ATTRIBUTION_REQUEST_SPEC;
  }
}
