package io.github.neuronexplainer.explanations.prompt;

import com.google.common.base.Supplier;
import com.google.common.base.Suppliers;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import java.util.Objects;

/**
 * Counts prompt tokens. The built-in counters behave like tiktoken's {@code encode(text,
 * allowed_special="all")}: every occurrence of a special-token string counts as one token and the
 * text between is encoded as ordinary text. Implementations must be thread-safe.
 */
public interface TokenCounter {
  /** Number of tokens in {@code text}. */
  int count(String text);

  /** cl100k_base, the original's counter (also used for gpt-4o-class models, for parity). */
  static TokenCounter cl100kBase() {
    return TiktokenCounter.CL100K.get();
  }

  /** o200k_base, the tokenizer of newer models. */
  static TokenCounter o200kBase() {
    return TiktokenCounter.O200K.get();
  }

  /**
   * The tokenizer of an OpenAI model family: o200k_base for gpt-4o, gpt-4.1, gpt-5 and o-series
   * models, cl100k_base otherwise. The explainers default to cl100k_base regardless, as the
   * original does.
   */
  static TokenCounter forModel(String model) {
    String m = model.toLowerCase(java.util.Locale.ROOT);
    boolean o200k =
        m.startsWith("gpt-4o")
            || m.startsWith("gpt-4.1")
            || m.startsWith("gpt-5")
            || m.matches("^o\\d.*")
            || m.startsWith("chatgpt-4o");
    return o200k ? o200kBase() : cl100kBase();
  }

  /** r50k_base (GPT-2), the stand-in the conformance goldens were generated with. */
  static TokenCounter r50kBase() {
    return TiktokenCounter.R50K.get();
  }
}

/** jtokkit-backed counter with special-token splitting. Immutable and thread-safe. */
final class TiktokenCounter implements TokenCounter {
  private static final EncodingRegistry REGISTRY = Encodings.newLazyEncodingRegistry();

  private final Encoding encoding;
  private final List<String> specialTokens;
  private final String name;

  private TiktokenCounter(EncodingType type, List<String> specialTokens) {
    this.encoding = REGISTRY.getEncoding(type);
    this.specialTokens = List.copyOf(specialTokens);
    this.name = type.getName();
  }

  static final Supplier<TiktokenCounter> CL100K =
      Suppliers.memoize(
          () ->
              new TiktokenCounter(
                  EncodingType.CL100K_BASE,
                  List.of(
                      "<|endoftext|>",
                      "<|fim_prefix|>",
                      "<|fim_middle|>",
                      "<|fim_suffix|>",
                      "<|endofprompt|>")));
  static final Supplier<TiktokenCounter> O200K =
      Suppliers.memoize(
          () ->
              new TiktokenCounter(
                  EncodingType.O200K_BASE, List.of("<|endoftext|>", "<|endofprompt|>")));
  static final Supplier<TiktokenCounter> R50K =
      Suppliers.memoize(
          () -> new TiktokenCounter(EncodingType.R50K_BASE, List.of("<|endoftext|>")));

  /** The encoding name, e.g. {@code cl100k_base}. */
  public String name() {
    return name;
  }

  @Override
  public int count(String text) {
    Objects.requireNonNull(text, "text");
    int total = 0;
    int pos = 0;
    while (true) {
      int next = -1;
      String special = null;
      for (String s : specialTokens) {
        int i = text.indexOf(s, pos);
        if (i >= 0 && (next < 0 || i < next)) {
          next = i;
          special = s;
        }
      }
      if (special == null) {
        return total + ordinary(text.substring(pos));
      }
      total += ordinary(text.substring(pos, next)) + 1;
      pos = next + special.length();
    }
  }

  private int ordinary(String piece) {
    return piece.isEmpty() ? 0 : encoding.countTokensOrdinary(piece);
  }

  @Override
  public String toString() {
    return "TokenCounter[" + name + "]";
  }
}
