package io.github.neuronexplainer.explanations.client;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.explanations.Json;
import java.time.Duration;
import java.util.Objects;

/**
 * One completion request: the JSON body without {@code model} (the client appends it last) and a
 * client-side timeout ({@code null} = the client's default). Bodies with {@code "messages"} go to
 * {@code /chat/completions}, others to {@code /completions}. Treat the body as read-only once
 * built.
 *
 * @param body request body in the caller's key order
 * @param timeout per-attempt timeout, or {@code null}
 */
public record ApiRequest(ObjectNode body, Duration timeout) {
  public ApiRequest {
    Objects.requireNonNull(body, "body");
  }

  /** A fresh empty body to fill in. */
  public static ObjectNode newBody() {
    return Json.MAPPER.createObjectNode();
  }

  /** The endpoint path, {@code /chat/completions} or {@code /completions}. */
  public String endpoint() {
    return body.has("messages") ? "/chat/completions" : "/completions";
  }
}
