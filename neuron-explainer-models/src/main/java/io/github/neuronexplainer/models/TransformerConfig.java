package io.github.neuronexplainer.models;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Set;

/**
 * Shape hyper-parameters of a GPT-2 style transformer, as the original's {@code TransformerConfig}
 * ({@code neuron_explainer/models/transformer.py}) plus the vocabulary size and layer-norm epsilon
 * the original takes from the encoding and from {@code nn.LayerNorm}'s default.
 *
 * <p>Thread-safety: immutable, safe to share.
 *
 * @param enc tiktoken encoding name, e.g. {@code "gpt2"}
 * @param ctxWindow maximum sequence length (number of position embeddings)
 * @param dModel residual stream width
 * @param nLayers number of transformer blocks
 * @param nHeads attention heads per block
 * @param mAttn attention width multiplier: q/k/v width is {@code (int)(dModel * mAttn)}
 * @param mMlp MLP width multiplier: hidden width is {@code (int)(dModel * mMlp)}
 * @param layerNormEpsilon epsilon of every layer norm
 * @param nVocab vocabulary size (rows of the token embedding and unembedding)
 */
public record TransformerConfig(
    String enc,
    int ctxWindow,
    int dModel,
    int nLayers,
    int nHeads,
    double mAttn,
    double mMlp,
    double layerNormEpsilon,
    int nVocab) {

  /** {@code nn.LayerNorm}'s default epsilon, used by the original and by GPT-2. */
  public static final double DEFAULT_LAYER_NORM_EPSILON = 1e-5;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> ORIGINAL_KEYS =
      Set.of("enc", "ctx_window", "d_model", "n_layers", "m_attn", "n_heads", "m_mlp");

  public TransformerConfig {
    if (enc == null || enc.isBlank()) {
      throw new IllegalArgumentException("enc (the tokenizer encoding name) must be given");
    }
    requirePositive(ctxWindow, "ctxWindow");
    requirePositive(dModel, "dModel");
    requirePositive(nLayers, "nLayers");
    requirePositive(nHeads, "nHeads");
    requirePositive(nVocab, "nVocab");
    if (!(mAttn > 0) || Double.isInfinite(mAttn) || !(mMlp > 0) || Double.isInfinite(mMlp)) {
      throw new IllegalArgumentException(
          "mAttn and mMlp must be positive finite multipliers, got " + mAttn + " and " + mMlp);
    }
    if (!(layerNormEpsilon > 0) || Double.isInfinite(layerNormEpsilon)) {
      throw new IllegalArgumentException(
          "layerNormEpsilon must be positive and finite, got " + layerNormEpsilon);
    }
    int dFf = (int) (dModel * mMlp);
    int dAttn = (int) (dModel * mAttn);
    if (dFf <= 0 || dAttn <= 0) {
      throw new IllegalArgumentException(
          "dModel * mMlp = " + dFf + " and dModel * mAttn = " + dAttn + " must both be positive");
    }
    if (dAttn % nHeads != 0) {
      throw new IllegalArgumentException(
          "attention width dModel * mAttn = " + dAttn + " is not divisible by nHeads = " + nHeads);
    }
  }

  /** MLP hidden width, {@code (int)(dModel * mMlp)}. */
  public int dFf() {
    return (int) (dModel * mMlp);
  }

  /** Total query/key width, {@code (int)(dModel * mAttn)}. */
  public int dAttnQk() {
    return (int) (dModel * mAttn);
  }

  /** Total value width, {@code (int)(dModel * mAttn)}. */
  public int dAttnV() {
    return (int) (dModel * mAttn);
  }

  /** Width of one head (query/key and value alike), {@code dAttnQk / nHeads}. */
  public int dHead() {
    return dAttnQk() / nHeads;
  }

  /** Vocabulary size of a tiktoken encoding the original uses. */
  public static int vocabSizeOf(String enc) {
    return switch (enc) {
      case "gpt2", "r50k_base" -> 50257;
      default ->
          throw new IllegalArgumentException(
              "unknown encoding '" + enc + "'; supported: gpt2, r50k_base");
    };
  }

  /** Reads the original's {@code config.json} file. */
  public static TransformerConfig fromOriginalJson(Path file) {
    return fromOriginalJson(readFile(file), file.toString());
  }

  /**
   * Parses the original's {@code config.json} text (keys {@code enc, ctx_window, d_model, n_layers,
   * m_attn, n_heads, m_mlp}; missing keys take the original dataclass defaults, unknown keys are an
   * error as in {@code TransformerConfig(**d)}).
   */
  public static TransformerConfig fromOriginalJson(String json) {
    return fromOriginalJson(json, "original config.json");
  }

  private static TransformerConfig fromOriginalJson(String json, String source) {
    JsonNode root = parseObject(json, source);
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!ORIGINAL_KEYS.contains(key)) {
        throw new IllegalArgumentException(
            source
                + ": unknown key '"
                + key
                + "' (allowed: "
                + ORIGINAL_KEYS
                + "); is this a HuggingFace config? use fromHuggingFaceJson");
      }
    }
    String enc = text(root, "enc", "gpt2", source);
    try {
      return new TransformerConfig(
          enc,
          integer(root, "ctx_window", 1024, source),
          integer(root, "d_model", 256, source),
          integer(root, "n_layers", 2, source),
          integer(root, "n_heads", 8, source),
          number(root, "m_attn", 1, source),
          number(root, "m_mlp", 4, source),
          DEFAULT_LAYER_NORM_EPSILON,
          vocabSizeOf(enc));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  /** Reads a HuggingFace GPT-2 {@code config.json} file. */
  public static TransformerConfig fromHuggingFaceJson(Path file) {
    return fromHuggingFaceJson(readFile(file), file.toString());
  }

  /**
   * Parses a HuggingFace {@code GPT2Config} JSON ({@code n_embd, n_layer, n_head,
   * n_positions/n_ctx, vocab_size, n_inner, layer_norm_epsilon, activation_function}); missing keys
   * take {@code GPT2Config}'s defaults. The activation must be {@code gelu_new}, the one the
   * original implements.
   */
  public static TransformerConfig fromHuggingFaceJson(String json) {
    return fromHuggingFaceJson(json, "HuggingFace config.json");
  }

  private static TransformerConfig fromHuggingFaceJson(String json, String source) {
    JsonNode root = parseObject(json, source);
    String modelType = text(root, "model_type", "gpt2", source);
    if (!modelType.equals("gpt2")) {
      throw new IllegalArgumentException(
          source + ": model_type is '" + modelType + "'; only gpt2 checkpoints are supported");
    }
    String activation = text(root, "activation_function", "gelu_new", source);
    if (!activation.equals("gelu_new")) {
      throw new IllegalArgumentException(
          source
              + ": activation_function is '"
              + activation
              + "'; only gelu_new (the GPT-2 tanh approximation) is supported");
    }
    int dModel = integer(root, "n_embd", 768, source);
    int ctx =
        root.hasNonNull("n_positions")
            ? integer(root, "n_positions", 1024, source)
            : integer(root, "n_ctx", 1024, source);
    int dFf = root.hasNonNull("n_inner") ? integer(root, "n_inner", 0, source) : 4 * dModel;
    try {
      return new TransformerConfig(
          "gpt2",
          ctx,
          dModel,
          integer(root, "n_layer", 12, source),
          integer(root, "n_head", 12, source),
          1,
          (double) dFf / dModel,
          number(root, "layer_norm_epsilon", DEFAULT_LAYER_NORM_EPSILON, source),
          integer(root, "vocab_size", 50257, source));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  /**
   * The original's {@code config.json} for this config. It has no fields for {@code nVocab} and
   * {@code layerNormEpsilon}: the original derives them from {@code enc} and uses 1e-5.
   */
  public String toOriginalJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("enc", enc);
    node.put("ctx_window", ctxWindow);
    node.put("d_model", dModel);
    node.put("n_layers", nLayers);
    putNumber(node, "m_attn", mAttn);
    node.put("n_heads", nHeads);
    putNumber(node, "m_mlp", mMlp);
    return node.toString();
  }

  private static void putNumber(ObjectNode node, String key, double value) {
    if (value == Math.rint(value) && Math.abs(value) < Integer.MAX_VALUE) {
      node.put(key, (int) value);
    } else {
      node.put(key, value);
    }
  }

  private static void requirePositive(int value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + " must be positive, got " + value);
    }
  }

  private static String readFile(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read config " + file, e);
    }
  }

  private static JsonNode parseObject(String json, String source) {
    try {
      JsonNode root = JSON.readTree(json);
      if (root == null || !root.isObject()) {
        throw new IllegalArgumentException(source + ": config must be a JSON object");
      }
      return root;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          source + ": config is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static String text(JsonNode root, String key, String fallback, String source) {
    JsonNode value = root.get(key);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isTextual()) {
      throw new IllegalArgumentException(source + ": '" + key + "' must be a string, got " + value);
    }
    return value.asText();
  }

  private static int integer(JsonNode root, String key, int fallback, String source) {
    JsonNode value = root.get(key);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isNumber()
        || value.asDouble() != Math.rint(value.asDouble())
        || !value.canConvertToInt()) {
      throw new IllegalArgumentException(
          source + ": '" + key + "' must be an integer, got " + value);
    }
    return value.asInt();
  }

  private static double number(JsonNode root, String key, double fallback, String source) {
    JsonNode value = root.get(key);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isNumber()) {
      throw new IllegalArgumentException(source + ": '" + key + "' must be a number, got " + value);
    }
    return value.asDouble();
  }
}
