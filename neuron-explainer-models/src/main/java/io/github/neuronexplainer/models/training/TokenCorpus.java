package io.github.neuronexplainer.models.training;

import io.github.neuronexplainer.models.Gpt2Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A tokenized text corpus split into a training part and a held-out part, and the source of
 * training windows.
 *
 * <p>The text is divided into documents at blank lines ({@code "\n\n"}, e.g. chapters); every
 * {@code heldOutEvery}-th document goes to the held-out part, the rest to the training part, so
 * both parts sample the whole corpus. Each part is one token stream with the documents separated by
 * {@code <|endoftext|>}.
 *
 * <p>Thread-safety: immutable (the token arrays are never exposed for writing).
 */
public final class TokenCorpus {
  private final int[] train;
  private final int[] heldOut;

  private TokenCorpus(int[] train, int[] heldOut) {
    this.train = train;
    this.heldOut = heldOut;
  }

  /**
   * Tokenizes {@code text} with the GPT-2 tokenizer and splits it.
   *
   * @param heldOutEvery every this many documents one is held out (e.g. 20 → 5%); 0 holds out
   *     nothing
   */
  public static TokenCorpus fromText(String text, int heldOutEvery) {
    if (heldOutEvery < 0 || heldOutEvery == 1) {
      throw new IllegalArgumentException(
          "heldOutEvery must be 0 (no held-out part) or >= 2; got " + heldOutEvery);
    }
    Gpt2Tokenizer tokenizer = Gpt2Tokenizer.instance();
    List<Integer> train = new ArrayList<>();
    List<Integer> heldOut = new ArrayList<>();
    String[] documents = text.split("\n\n+");
    int index = 0;
    for (String document : documents) {
      String trimmed = document.strip();
      if (trimmed.isEmpty()) {
        continue;
      }
      List<Integer> target =
          heldOutEvery > 0 && index % heldOutEvery == heldOutEvery - 1 ? heldOut : train;
      for (int t : tokenizer.encodeOrdinary(trimmed)) {
        target.add(t);
      }
      target.add(Gpt2Tokenizer.END_OF_TEXT);
      index++;
    }
    return new TokenCorpus(
        train.stream().mapToInt(Integer::intValue).toArray(),
        heldOut.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Reads a UTF-8 text file and calls {@link #fromText}. */
  public static TokenCorpus fromFile(Path file, int heldOutEvery) {
    try {
      return fromText(Files.readString(file, StandardCharsets.UTF_8), heldOutEvery);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read the corpus " + file, e);
    }
  }

  /** The distinct token ids of both parts, ascending. */
  public int[] usedTokens() {
    java.util.BitSet seen = new java.util.BitSet();
    for (int t : train) {
      seen.set(t);
    }
    for (int t : heldOut) {
      seen.set(t);
    }
    return seen.stream().toArray();
  }

  /** A copy of the training part's token ids (all of the text when nothing is held out). */
  public int[] trainTokenIds() {
    return train.clone();
  }

  /** A copy of the held-out part's token ids. */
  public int[] heldOutTokenIds() {
    return heldOut.clone();
  }

  /** Training tokens. */
  public int trainTokens() {
    return train.length;
  }

  /** Held-out tokens. */
  public int heldOutTokens() {
    return heldOut.length;
  }

  /**
   * A batch of {@code batchSize} training windows of {@code length + 1} tokens at random offsets:
   * row {@code i} is {@code window[i][0..length]}; the model reads the first {@code length} tokens
   * and predicts the last {@code length}.
   */
  public long[][] sampleTrainWindows(Random random, int batchSize, int length) {
    requireLength(train, length, "training");
    long[][] rows = new long[batchSize][];
    for (int b = 0; b < batchSize; b++) {
      rows[b] = window(train, random.nextInt(train.length - length), length);
    }
    return rows;
  }

  /**
   * The held-out part cut into consecutive, non-overlapping windows of {@code length + 1} tokens
   * (at most {@code maxWindows}), for a deterministic held-out loss.
   */
  public List<long[]> heldOutWindows(int length, int maxWindows) {
    requireLength(heldOut, length, "held-out");
    List<long[]> rows = new ArrayList<>();
    for (int start = 0;
        start + length < heldOut.length && rows.size() < maxWindows;
        start += length) {
      rows.add(window(heldOut, start, length));
    }
    return rows;
  }

  private static long[] window(int[] tokens, int start, int length) {
    long[] row = new long[length + 1];
    for (int i = 0; i <= length; i++) {
      row[i] = tokens[start + i];
    }
    return row;
  }

  private static void requireLength(int[] tokens, int length, String part) {
    if (tokens.length <= length) {
      throw new IllegalArgumentException(
          "The "
              + part
              + " part has "
              + tokens.length
              + " tokens, too few for windows of "
              + (length + 1)
              + "; use a larger corpus or a shorter context");
    }
  }
}
