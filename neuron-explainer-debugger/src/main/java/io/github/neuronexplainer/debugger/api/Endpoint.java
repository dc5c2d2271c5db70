package io.github.neuronexplainer.debugger.api;

/**
 * The original server's debugger operations, by route, with their request and response types (the
 * route strings are those of {@code inference_routes.py}; {@link #SCORED_TOKENS} has no route in
 * the original and is named after its method). Immutable.
 */
public enum Endpoint {
  BATCHED("/batched", BatchedRequest.class, BatchedResponse.class),
  BATCHED_TDB("/batched_tdb", BatchedTdbRequest.class, BatchedResponse.class),
  DERIVED_SCALARS("/derived_scalars", DerivedScalarsRequest.class, DerivedScalarsResponse.class),
  DERIVED_ATTENTION_SCALARS(
      "/derived_attention_scalars",
      DerivedAttentionScalarsRequest.class,
      DerivedAttentionScalarsResponse.class),
  MULTIPLE_TOP_K_DERIVED_SCALARS(
      "/multiple_top_k_derived_scalars",
      MultipleTopKDerivedScalarsRequest.class,
      MultipleTopKDerivedScalarsResponse.class),
  SCORED_TOKENS(
      "InteractiveModel.get_scored_tokens", ScoredTokensRequest.class, ScoredTokensResponse.class),
  TOKEN_PAIR_ATTRIBUTION(
      "InteractiveModel.get_token_pair_attribution",
      TokenPairAttributionRequest.class,
      TokenPairAttributionResponse.class),
  MODEL_INFO("/model_info", Void.class, ModelInfoResponse.class);

  private final String route;
  private final Class<?> requestType;
  private final Class<?> responseType;

  Endpoint(String route, Class<?> requestType, Class<?> responseType) {
    this.route = route;
    this.requestType = requestType;
    this.responseType = responseType;
  }

  public String route() {
    return route;
  }

  /** The request type ({@code Void} for {@link #MODEL_INFO}, which takes no request body). */
  public Class<?> requestType() {
    return requestType;
  }

  public Class<?> responseType() {
    return responseType;
  }

  /**
   * The endpoint of a route.
   *
   * @throws IllegalArgumentException naming the known routes
   */
  public static Endpoint fromRoute(String route) {
    for (Endpoint e : values()) {
      if (e.route.equals(route)) {
        return e;
      }
    }
    StringBuilder known = new StringBuilder();
    for (Endpoint e : values()) {
      known.append(known.length() == 0 ? "" : ", ").append(e.route);
    }
    throw new IllegalArgumentException("Unknown route '" + route + "'; known: " + known);
  }
}
