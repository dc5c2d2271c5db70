package io.github.neuronexplainer.explanations.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.core.records.ActivationScale;
import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.PythonText;
import io.github.neuronexplainer.explanations.client.ApiException;
import io.github.neuronexplainer.explanations.prompt.PromptFormat;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the all-at-once simulator's echo + logprobs response: finds each {@code <tab>unknown} line
 * of the simulated sequence and takes the distribution over what could stand where {@code unknown}
 * is. Handles {@code bytes:} tokens (partial UTF-8), subject tokens split by the simulator's
 * tokenizer, and newlines folded into the preceding token. Stateless.
 */
public final class SimulationResponseParser {
  private SimulationResponseParser() {}

  /** Bytes of a {@code bytes:} token ({@code \xNN} escapes and raw characters ≤ 255). */
  public static byte[] convertToByteArray(String token) {
    if (!token.startsWith("bytes:")) {
      throw new IllegalArgumentException("Not a bytes: token: " + token);
    }
    String s = token.substring(6);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '\\') {
        if (i + 1 >= s.length() || s.charAt(i + 1) != 'x' || s.length() - i < 4) {
          throw new IllegalArgumentException("Malformed byte escape in " + token);
        }
        out.write(Integer.parseInt(s.substring(i + 2, i + 4), 16));
        i += 4;
      } else {
        if (c > 255) {
          throw new IllegalArgumentException("byte must be in range(0, 256): " + token);
        }
        out.write(c);
        i++;
      }
    }
    return out.toByteArray();
  }

  /**
   * Result of merging {@code bytes:} tokens.
   *
   * @param token the decoded text
   * @param index the index of the first merged response token
   */
  public record MergedToken(String token, int index) {}

  /**
   * Decodes a {@code bytes:} token, merging preceding {@code bytes:} tokens until it is valid
   * UTF-8.
   */
  public static MergedToken handleByteEncoding(List<String> responseTokens, int index) {
    String token = pyGet(responseTokens, index);
    if (!token.startsWith("bytes:")) {
      return new MergedToken(token, index);
    }
    byte[] bytes = new byte[0];
    while (true) {
      byte[] piece = convertToByteArray(token);
      byte[] merged = new byte[piece.length + bytes.length];
      System.arraycopy(piece, 0, merged, 0, piece.length);
      System.arraycopy(bytes, 0, merged, piece.length, bytes.length);
      bytes = merged;
      try {
        String decoded =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
        return new MergedToken(decoded, index);
      } catch (CharacterCodingException e) {
        index--;
        token = pyGet(responseTokens, index);
      }
    }
  }

  /** Python list indexing: negative indices count from the end. */
  private static String pyGet(List<String> list, int index) {
    int i = index < 0 ? index + list.size() : index;
    if (i < 0 || i >= list.size()) {
      throw new IndexOutOfBoundsException("list index out of range: " + index);
    }
    return list.get(i);
  }

  /** Whether {@code currentToken} spans several response tokens ending at {@code startIndex}. */
  public static boolean wasTokenSplit(
      String currentToken, List<String> responseTokens, int startIndex) {
    String merged = "";
    int index = startIndex;
    int target = PythonText.length(currentToken);
    while (PythonText.length(merged) < target) {
      MergedToken m = handleByteEncoding(responseTokens, index);
      merged = m.token() + merged;
      index = m.index() - 1;
    }
    if (!merged.endsWith(currentToken)) {
      throw new IllegalStateException(
          "Response tokens " + merged + " do not end with subject token " + currentToken);
    }
    return startIndex - index > 1;
  }

  /**
   * Parses an echo + logprobs completion of a simulation prompt for {@code tokens}.
   *
   * @throws ApiException if the response lacks the logprobs the parser needs
   * @throws IllegalStateException if the response does not match the prompt
   */
  public static SequenceSimulation parseSimulationResponse(
      JsonNode response, PromptFormat format, List<String> tokens) {
    JsonNode choice = response.path("choices").path(0);
    JsonNode textNode =
        format == PromptFormat.CHAT_MESSAGES
            ? choice.path("message").path("content")
            : choice.path("text");
    JsonNode logprobs = choice.path("logprobs");
    if (!textNode.isTextual()
        || !logprobs.path("tokens").isArray()
        || !logprobs.path("top_logprobs").isArray()
        || !logprobs.path("text_offset").isArray()) {
      throw new ApiException(
          "Simulation response lacks text or logprobs (tokens, top_logprobs, text_offset); "
              + "the model must support echo + logprobs on /completions",
          false,
          -1);
    }
    String text = textNode.textValue();
    List<String> responseTokens = new ArrayList<>();
    logprobs.get("tokens").forEach(t -> responseTokens.add(t.textValue()));
    JsonNode topLogprobs = logprobs.get("top_logprobs");
    JsonNode offsets = logprobs.get("text_offset");
    int startUtf16 = text.lastIndexOf("<start>");
    long scoringStart = startUtf16 < 0 ? -1 : text.codePointCount(0, startUtf16);

    List<String> found = new ArrayList<>();
    List<Number> expected = new ArrayList<>();
    List<List<Double>> values = new ArrayList<>();
    List<List<Double>> probabilities = new ArrayList<>();
    for (int i = 2; i < responseTokens.size(); i++) {
      if (found.size() == tokens.size()) {
        boolean reachedEnd =
            i + 2 < responseTokens.size()
                && "<".equals(responseTokens.get(i + 1))
                && "end".equals(responseTokens.get(i + 2));
        if (!reachedEnd) {
          throw new IllegalStateException(
              "Simulated sequence does not end after "
                  + tokens.size()
                  + " tokens: "
                  + responseTokens.subList(
                      Math.max(0, i - 3), Math.min(responseTokens.size(), i + 3)));
        }
        break;
      }
      if (offsets.get(i).longValue() >= scoringStart && "\t".equals(responseTokens.get(i - 1))) {
        if (!"unknown".equals(responseTokens.get(i))) {
          continue;
        }
        int j = i - 2;
        String current = tokens.get(found.size());
        if (current.equals(responseTokens.get(j)) || wasTokenSplit(current, responseTokens, j)) {
          TokenPrediction p = Logprobs.computePredictedActivationStats(topLogprobs.get(i));
          values.add(p.values());
          probabilities.add(p.probabilities());
          expected.add(p.expectedValue());
        } else {
          if (!responseTokens.get(j).contains("\n")) {
            throw new IllegalStateException(
                "Response token "
                    + responseTokens.get(j)
                    + " neither matches subject token "
                    + current
                    + " nor holds a folded newline");
          }
          values.add(List.of());
          probabilities.add(List.of());
          expected.add(0.0);
        }
        found.add(current);
      }
    }
    return new SequenceSimulation(
        found,
        expected,
        ActivationScale.SIMULATED_NORMALIZED_ACTIVATIONS,
        values,
        probabilities,
        null);
  }
}
