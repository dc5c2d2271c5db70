package io.github.neuronexplainer.models;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * GPT-2's byte-level BPE (tiktoken's {@code r50k_base}, bundled in jtokkit: nothing is downloaded),
 * with {@code <|endoftext|>} allowed as the single token 50256, as the original's {@code
 * ModelContext.encode} allows it.
 *
 * <p>Immutable and thread-safe.
 */
public final class Gpt2Tokenizer {
  /** The id of {@code <|endoftext|>}. */
  public static final int END_OF_TEXT = 50256;

  public static final String END_OF_TEXT_STRING = "<|endoftext|>";
  public static final int VOCAB_SIZE = 50257;

  private static final Gpt2Tokenizer INSTANCE = new Gpt2Tokenizer();

  private final Encoding encoding =
      Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.R50K_BASE);

  private Gpt2Tokenizer() {}

  public static Gpt2Tokenizer instance() {
    return INSTANCE;
  }

  /**
   * The tokenizer for a model config's {@code enc} name.
   *
   * @throws IllegalArgumentException for encodings other than GPT-2's
   */
  public static Gpt2Tokenizer forEncoding(String enc) {
    if (!enc.equals("gpt2") && !enc.equals("r50k_base")) {
      throw new IllegalArgumentException(
          "Unsupported tokenizer encoding '" + enc + "'; only GPT-2's ('gpt2') is supported");
    }
    return INSTANCE;
  }

  /** Token ids of {@code text}; each {@code <|endoftext|>} becomes token 50256. */
  public int[] encode(String text) {
    IntArrayList out = new IntArrayList();
    int start = 0;
    while (true) {
      int special = text.indexOf(END_OF_TEXT_STRING, start);
      String piece = text.substring(start, special < 0 ? text.length() : special);
      if (!piece.isEmpty()) {
        IntArrayList ids = encoding.encodeOrdinary(piece);
        for (int i = 0; i < ids.size(); i++) {
          out.add(ids.get(i));
        }
      }
      if (special < 0) {
        return out.toArray();
      }
      out.add(END_OF_TEXT);
      start = special + END_OF_TEXT_STRING.length();
    }
  }

  /** Token ids of {@code text} with {@code <|endoftext|>} treated as ordinary text. */
  public int[] encodeOrdinary(String text) {
    return encoding.encodeOrdinary(text).toArray();
  }

  /** The UTF-8 bytes of one token (a token may hold part of a multi-byte character). */
  public byte[] tokenBytes(int token) {
    checkToken(token);
    IntArrayList list = new IntArrayList(1);
    list.add(token);
    return encoding.decodeBytes(list);
  }

  /** One token's text; invalid UTF-8 (a partial character) becomes U+FFFD, as in tiktoken. */
  public String decodeToken(int token) {
    return new String(tokenBytes(token), StandardCharsets.UTF_8);
  }

  /** The text of a token sequence (bytes joined before UTF-8 decoding). */
  public String decode(int[] tokens) {
    IntArrayList list = new IntArrayList(tokens.length);
    for (int t : tokens) {
      checkToken(t);
      list.add(t);
    }
    return new String(encoding.decodeBytes(list), StandardCharsets.UTF_8);
  }

  /** Each token's text. */
  public List<String> decodeEach(int[] tokens) {
    List<String> result = new ArrayList<>(tokens.length);
    for (int t : tokens) {
      result.add(decodeToken(t));
    }
    return result;
  }

  private static void checkToken(int token) {
    if (token < 0 || token >= VOCAB_SIZE) {
      throw new IllegalArgumentException(
          "Token id " + token + " is outside GPT-2's vocabulary [0, " + VOCAB_SIZE + ")");
    }
  }
}
