package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Gpt2TokenizerTest {
  private final Gpt2Tokenizer tokenizer = Gpt2Tokenizer.instance();

  @Test
  void knownGpt2Ids() {
    assertArrayEquals(new int[] {15496, 995}, tokenizer.encode("Hello world"));
    assertArrayEquals(new int[] {262}, tokenizer.encode(" the"));
    assertArrayEquals(
        new int[] {2215, 5335, 290, 1757, 1816, 284, 262, 3650, 11, 1757, 2921, 257, 4144, 284},
        tokenizer.encode("When Mary and John went to the store, John gave a drink to"));
  }

  @Test
  void endOfTextIsOneTokenWhereverItAppears() {
    assertArrayEquals(new int[] {50256}, tokenizer.encode("<|endoftext|>"));
    assertArrayEquals(new int[] {15496, 50256, 995}, tokenizer.encode("Hello<|endoftext|> world"));
    assertEquals(7, tokenizer.encodeOrdinary("<|endoftext|>").length);
    assertEquals("<|endoftext|>", tokenizer.decodeToken(50256));
  }

  @Test
  void singleTokenStringsThroughTheModelContext() {
    try (StandardModelContext context = StandardModelContext.of("tiny", TinyModel.CHECKPOINT)) {
      assertEquals(6342, context.encodeTokenString(" Paris"));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> context.encodeTokenString("Hello world"));
      assertTrue(e.getMessage().contains("wanted exactly 1 token"), e.getMessage());
    }
  }

  @Test
  void multiByteCharactersSpanTokensAndDecodeWhole() {
    String text = "naïve café 日本語";
    int[] ids = tokenizer.encode(text);
    assertEquals(text, tokenizer.decode(ids));
    int totalBytes = 0;
    for (int id : ids) {
      totalBytes += tokenizer.tokenBytes(id).length;
    }
    assertEquals(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length, totalBytes);
  }

  @Test
  void unknownTokenIdsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> tokenizer.decodeToken(50257));
    assertThrows(IllegalArgumentException.class, () -> tokenizer.decode(new int[] {1, -5}));
  }
}
