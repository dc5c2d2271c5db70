package io.github.neuronexplainer.conformance.interactive;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.debugger.DebuggerException;
import io.github.neuronexplainer.debugger.api.Endpoint;
import io.github.neuronexplainer.debugger.json.DebuggerJson;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The debugger's JSON against every interactive golden: each request (as the original's front end
 * sends it) reads into the Java types and writes back as the original's parsed request (every
 * default filled in); each response reads and writes back unchanged; a request the original refuses
 * at validation (a {@code specType} string) is refused with MALFORMED_REQUEST by the faithful
 * reader and read by the lenient one.
 */
class InteractiveJsonConformanceTest {
  private final DebuggerJson json = DebuggerJson.faithful();

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("io.github.neuronexplainer.conformance.interactive.InteractiveGolden#cases")
  void requestsAndResponsesRoundTrip(Pack pack, String file) {
    InteractiveGolden golden = InteractiveGolden.load(pack, file);
    Endpoint endpoint = golden.endpoint();
    if (endpoint != Endpoint.MODEL_INFO) {
      JsonNode parsed = golden.json().path("parsedRequest");
      if (golden.isError() && golden.error().path("http").path("status").asInt() == 422) {
        DebuggerException e =
            assertThrows(
                DebuggerException.class, () -> json.read(golden.request(), endpoint.requestType()));
        assertEquals(DebuggerException.Kind.MALFORMED_REQUEST, e.kind());
        DebuggerJson.lenient().read(golden.request(), endpoint.requestType());
      } else {
        Object request = json.read(golden.request(), endpoint.requestType());
        assertNull(InteractiveGolden.difference("parsedRequest", parsed, json.toTree(request)));
        assertEquals(
            request, DebuggerJson.lenient().read(json.write(request), endpoint.requestType()));
      }
    }
    if (!golden.response().isNull()) {
      Object response = json.read(golden.response(), endpoint.responseType());
      assertNull(
          InteractiveGolden.difference("response", golden.response(), json.toTree(response)));
    }
  }
}
