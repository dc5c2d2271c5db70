package io.github.neuronexplainer.debugger.api;

/**
 * Vocabulary tokens for each node of an earlier top-k spec (the original's {@code
 * ScoredTokensRequestSpec}): {@code numTokens} top and bottom tokens per node, scored as {@code
 * tokenScoringType} says. {@code dependsOnSpecName} must name a spec that comes earlier in the same
 * sub-request.
 *
 * <p>Immutable and thread-safe.
 */
public record ScoredTokensRequestSpec(
    TokenScoringType tokenScoringType, Integer numTokens, String dependsOnSpecName)
    implements ProcessingRequestSpec {

  public ScoredTokensRequestSpec {
    Immutable.required(tokenScoringType, "tokenScoringType", "ScoredTokensRequestSpec");
    Immutable.required(numTokens, "numTokens", "ScoredTokensRequestSpec");
    Immutable.required(dependsOnSpecName, "dependsOnSpecName", "ScoredTokensRequestSpec");
  }

  @Override
  public SpecType specType() {
    return SpecType.SCORED_TOKENS_REQUEST_SPEC;
  }
}
