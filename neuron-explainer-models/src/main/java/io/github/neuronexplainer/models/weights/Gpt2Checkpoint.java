package io.github.neuronexplainer.models.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.neuronexplainer.models.TransformerConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A GPT-2 checkpoint in the original's state-dict names and layouts ({@code nn.Linear} weights are
 * {@code [out, in]}), loaded from either layout:
 *
 * <ul>
 *   <li>the original's: {@code config.json} ({@code d_model}, {@code n_layers}, ...) plus {@code
 *       model_pieces/<state dict key>.pt}, each a bare tensor;
 *   <li>HuggingFace's: {@code config.json} ({@code n_embd}, ...) plus {@code model.safetensors};
 *       Conv1D weights are transposed, {@code c_attn} is split into q/k/v, a missing {@code
 *       lm_head.weight} is tied to {@code wte.weight}, and the {@code attn.bias}/{@code
 *       attn.masked_bias} buffers are dropped (the same conversion as the original's {@code
 *       scripts/download_from_hf.py}).
 * </ul>
 *
 * <p>Every expected tensor must be present with the shape the config implies; extra tensors are
 * logged as warnings.
 *
 * <p>Thread-safety: immutable, safe to share.
 *
 * @param config the model's shape
 * @param tensors state dict in the original's order (unmodifiable)
 */
public record Gpt2Checkpoint(TransformerConfig config, Map<String, HostTensor> tensors) {
  private static final Logger LOG = LoggerFactory.getLogger(Gpt2Checkpoint.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CONFIG_FILE = "config.json";
  private static final String SAFETENSORS_FILE = "model.safetensors";
  private static final String PIECES_FOLDER = "model_pieces/";
  private static final int PARALLEL_PIECES = 8;
  private static final long PIECE_SHUTDOWN_SECONDS = 60;
  private static final Pattern HF_LAYER = Pattern.compile("h\\.(\\d+)\\.(.+)");

  /** The file layout a checkpoint folder uses. */
  public enum Layout {
    /** The original's {@code config.json} + {@code model_pieces/<key>.pt}. */
    ORIGINAL_PIECES,
    /** HuggingFace {@code config.json} + {@code model.safetensors}. */
    HUGGING_FACE_SAFETENSORS
  }

  /**
   * Validates and wraps a state dict.
   *
   * @throws WeightFormatException if a tensor is missing or has the wrong shape
   */
  public Gpt2Checkpoint {
    Objects.requireNonNull(config, "config");
    tensors =
        Collections.unmodifiableMap(new LinkedHashMap<>(validate(config, tensors, "checkpoint")));
  }

  /** The tensor called {@code name}; throws if absent. */
  public HostTensor tensor(String name) {
    HostTensor tensor = tensors.get(name);
    if (tensor == null) {
      throw new IllegalArgumentException("no tensor '" + name + "' in the checkpoint");
    }
    return tensor;
  }

  /** Loads a checkpoint folder in either layout. */
  public static Gpt2Checkpoint load(Path folder) {
    return load(new LocalFolderSource(folder), DownloadProgress.none());
  }

  /** Loads a checkpoint from a source, fetching only the files the detected layout needs. */
  public static Gpt2Checkpoint load(WeightSource source) {
    return load(source, DownloadProgress.none());
  }

  /**
   * Loads a checkpoint from a source, fetching only the files the detected layout needs.
   *
   * @throws WeightFetchException if a file cannot be fetched
   * @throws WeightFormatException if a file is malformed, a tensor missing or misshapen
   * @throws IllegalArgumentException if config.json is invalid
   */
  public static Gpt2Checkpoint load(WeightSource source, DownloadProgress progress) {
    Path configFile = source.fetch(CONFIG_FILE, progress);
    String configText;
    try {
      configText = Files.readString(configFile);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + configFile, e);
    }
    Layout layout = detectLayout(configText, source.describe(CONFIG_FILE));
    LOG.info("loading {} checkpoint from {}", layout, source);
    return switch (layout) {
      case ORIGINAL_PIECES ->
          loadPieces(TransformerConfig.fromOriginalJson(configFile), source, progress);
      case HUGGING_FACE_SAFETENSORS ->
          loadSafetensors(TransformerConfig.fromHuggingFaceJson(configFile), source, progress);
    };
  }

  /** Which layout a {@code config.json} belongs to. */
  public static Layout detectLayout(String configJson, String where) {
    JsonNode root;
    try {
      root = JSON.readTree(configJson);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + " is not valid JSON: " + e.getMessage(), e);
    }
    if (root != null && root.has("d_model")) {
      return Layout.ORIGINAL_PIECES;
    }
    if (root != null && (root.has("n_embd") || root.has("model_type"))) {
      return Layout.HUGGING_FACE_SAFETENSORS;
    }
    throw new IllegalArgumentException(
        where
            + " is neither the original's config (d_model, "
            + "n_layers, ...) nor a HuggingFace GPT-2 config (n_embd, n_layer, ...)");
  }

  /**
   * Names and shapes of every tensor the original's {@code Transformer} has, in state-dict order.
   */
  public static Map<String, long[]> expectedShapes(TransformerConfig c) {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    long d = c.dModel();
    shapes.put("tok_embed.weight", new long[] {c.nVocab(), d});
    shapes.put("pos_embed.weight", new long[] {c.ctxWindow(), d});
    for (int i = 0; i < c.nLayers(); i++) {
      String p = "xf_layers." + i + ".";
      shapes.put(p + "ln_1.weight", new long[] {d});
      shapes.put(p + "ln_1.bias", new long[] {d});
      shapes.put(p + "attn.q_proj.weight", new long[] {c.dAttnQk(), d});
      shapes.put(p + "attn.q_proj.bias", new long[] {c.dAttnQk()});
      shapes.put(p + "attn.k_proj.weight", new long[] {c.dAttnQk(), d});
      shapes.put(p + "attn.k_proj.bias", new long[] {c.dAttnQk()});
      shapes.put(p + "attn.v_proj.weight", new long[] {c.dAttnV(), d});
      shapes.put(p + "attn.v_proj.bias", new long[] {c.dAttnV()});
      shapes.put(p + "attn.out_proj.weight", new long[] {d, c.dAttnV()});
      shapes.put(p + "attn.out_proj.bias", new long[] {d});
      shapes.put(p + "ln_2.weight", new long[] {d});
      shapes.put(p + "ln_2.bias", new long[] {d});
      shapes.put(p + "mlp.in_layer.weight", new long[] {c.dFf(), d});
      shapes.put(p + "mlp.in_layer.bias", new long[] {c.dFf()});
      shapes.put(p + "mlp.out_layer.weight", new long[] {d, c.dFf()});
      shapes.put(p + "mlp.out_layer.bias", new long[] {d});
    }
    shapes.put("final_ln.weight", new long[] {d});
    shapes.put("final_ln.bias", new long[] {d});
    shapes.put("unembed.weight", new long[] {c.nVocab(), d});
    return shapes;
  }

  /**
   * Checks that every expected tensor is present with the right shape and a floating-point dtype
   * and returns them in state-dict order; extras are logged and dropped.
   */
  private static Map<String, HostTensor> validate(
      TransformerConfig config, Map<String, HostTensor> tensors, String where) {
    Map<String, HostTensor> ordered = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> expected : expectedShapes(config).entrySet()) {
      String name = expected.getKey();
      HostTensor tensor = tensors.get(name);
      if (tensor == null) {
        throw new WeightFormatException(
            where
                + ": tensor '"
                + name
                + "' is missing (expected shape "
                + Arrays.toString(expected.getValue())
                + ")");
      }
      checkTensor(name, tensor, expected.getValue(), where);
      ordered.put(name, tensor);
    }
    for (String name : tensors.keySet()) {
      if (!ordered.containsKey(name)) {
        LOG.warn("{}: ignoring unexpected tensor '{}'", where, name);
      }
    }
    return ordered;
  }

  private static void checkTensor(String name, HostTensor tensor, long[] expected, String where) {
    if (!Arrays.equals(tensor.shape(), expected)) {
      throw new WeightFormatException(
          where
              + ": tensor '"
              + name
              + "' has shape "
              + Arrays.toString(tensor.shape())
              + " but the config needs "
              + Arrays.toString(expected));
    }
    if (!tensor.dtype().isFloatingPoint()) {
      throw new WeightFormatException(
          where
              + ": tensor '"
              + name
              + "' has dtype "
              + tensor.dtype()
              + "; weights must be floating point");
    }
  }

  private static Gpt2Checkpoint loadPieces(
      TransformerConfig config, WeightSource source, DownloadProgress progress) {
    Map<String, long[]> expected = expectedShapes(config);
    // Pieces are mostly I/O (downloads, zip reads), so a few more threads than cores pay off.
    ExecutorService pool =
        Executors.newFixedThreadPool(
            PARALLEL_PIECES,
            runnable -> {
              Thread thread = new Thread(runnable, "gpt2-checkpoint-piece");
              thread.setDaemon(true);
              return thread;
            });
    try {
      Map<String, Future<HostTensor>> futures = new LinkedHashMap<>();
      for (Map.Entry<String, long[]> entry : expected.entrySet()) {
        String name = entry.getKey();
        futures.put(name, pool.submit(() -> loadPiece(source, name, entry.getValue(), progress)));
      }
      Map<String, HostTensor> tensors = new LinkedHashMap<>();
      for (Map.Entry<String, Future<HostTensor>> entry : futures.entrySet()) {
        tensors.put(entry.getKey(), await(entry.getValue()));
      }
      return new Gpt2Checkpoint(config, tensors);
    } finally {
      stopAndWait(pool);
    }
  }

  /** On failure the other pieces are cancelled; wait so no download outlives this call. */
  private static void stopAndWait(ExecutorService pool) {
    pool.shutdownNow();
    try {
      if (!pool.awaitTermination(PIECE_SHUTDOWN_SECONDS, TimeUnit.SECONDS)) {
        LOG.warn("checkpoint piece loaders still running after {} s", PIECE_SHUTDOWN_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static HostTensor loadPiece(
      WeightSource source, String name, long[] expectedShape, DownloadProgress progress) {
    String relative = PIECES_FOLDER + name + ".pt";
    Path file;
    try {
      file = source.fetch(relative, progress);
    } catch (WeightFetchException e) {
      // Only ask whether the piece exists after a failure, to spare one request per piece.
      if (!source.exists(relative)) {
        throw new WeightFormatException(
            source.describe(relative)
                + ": tensor '"
                + name
                + "' is missing from the checkpoint (expected shape "
                + Arrays.toString(expectedShape)
                + ")",
            e);
      }
      throw e;
    }
    Object value = TorchPickleReader.read(file);
    if (!(value instanceof HostTensor tensor)) {
      throw new WeightFormatException(
          file
              + ": expected a bare tensor for '"
              + name
              + "', got "
              + (value == null ? "None" : value.getClass().getSimpleName()));
    }
    checkTensor(name, tensor, expectedShape, file.toString());
    return tensor;
  }

  private static HostTensor await(Future<HostTensor> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new WeightFetchException("interrupted while loading checkpoint pieces", e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException("loading a checkpoint piece failed", e.getCause());
    }
  }

  private static Gpt2Checkpoint loadSafetensors(
      TransformerConfig config, WeightSource source, DownloadProgress progress) {
    Path file = source.fetch(SAFETENSORS_FILE, progress);
    Map<String, HostTensor> hf = SafetensorsFile.read(file).tensors();
    Map<String, HostTensor> converted = fromHuggingFace(config, hf, file.toString());
    return new Gpt2Checkpoint(config, validate(config, converted, file.toString()));
  }

  /**
   * Converts a HuggingFace GPT-2 state dict (with or without the {@code transformer.} prefix) to
   * the original's names and layouts.
   *
   * @param where file name for messages
   * @throws WeightFormatException if a HuggingFace tensor has the wrong rank or shape
   */
  public static Map<String, HostTensor> fromHuggingFace(
      TransformerConfig config, Map<String, HostTensor> hf, String where) {
    Map<String, HostTensor> out = new LinkedHashMap<>();
    List<String> ignored = new ArrayList<>();
    for (Map.Entry<String, HostTensor> entry : hf.entrySet()) {
      String hfName = entry.getKey();
      String name = hfName.startsWith("transformer.") ? hfName.substring(12) : hfName;
      HostTensor t = entry.getValue();
      Matcher layer = HF_LAYER.matcher(name);
      if (layer.matches()) {
        String p = "xf_layers." + layer.group(1) + ".";
        String rest = layer.group(2);
        switch (rest) {
          case "attn.bias", "attn.masked_bias" -> {} // causal-mask buffers, not parameters
          case "ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias" -> out.put(p + rest, t);
          case "attn.c_attn.weight" -> {
            long[] shape =
                requireShape(
                    hfName, t, where, config.dModel(), 2L * config.dAttnQk() + config.dAttnV());
            int qk = config.dAttnQk();
            out.put(p + "attn.q_proj.weight", transposeColumns(t, 0, qk));
            out.put(p + "attn.k_proj.weight", transposeColumns(t, qk, qk));
            out.put(p + "attn.v_proj.weight", transposeColumns(t, 2 * qk, (int) shape[1] - 2 * qk));
          }
          case "attn.c_attn.bias" -> {
            requireShape(hfName, t, where, 2L * config.dAttnQk() + config.dAttnV());
            int qk = config.dAttnQk();
            out.put(p + "attn.q_proj.bias", slice(t, 0, qk));
            out.put(p + "attn.k_proj.bias", slice(t, qk, qk));
            out.put(p + "attn.v_proj.bias", slice(t, 2 * qk, config.dAttnV()));
          }
          case "attn.c_proj.weight" ->
              out.put(p + "attn.out_proj.weight", transposed(hfName, t, where));
          case "attn.c_proj.bias" -> out.put(p + "attn.out_proj.bias", t);
          case "mlp.c_fc.weight" ->
              out.put(p + "mlp.in_layer.weight", transposed(hfName, t, where));
          case "mlp.c_fc.bias" -> out.put(p + "mlp.in_layer.bias", t);
          case "mlp.c_proj.weight" ->
              out.put(p + "mlp.out_layer.weight", transposed(hfName, t, where));
          case "mlp.c_proj.bias" -> out.put(p + "mlp.out_layer.bias", t);
          default -> ignored.add(hfName);
        }
        continue;
      }
      switch (name) {
        case "wte.weight" -> out.put("tok_embed.weight", t);
        case "wpe.weight" -> out.put("pos_embed.weight", t);
        case "ln_f.weight" -> out.put("final_ln.weight", t);
        case "ln_f.bias" -> out.put("final_ln.bias", t);
        case "lm_head.weight" -> out.put("unembed.weight", t);
        default -> ignored.add(hfName);
      }
    }
    if (!out.containsKey("unembed.weight") && out.containsKey("tok_embed.weight")) {
      out.put("unembed.weight", out.get("tok_embed.weight")); // tie_word_embeddings
    }
    if (!ignored.isEmpty()) {
      LOG.warn("{}: ignoring unexpected tensors {}", where, ignored);
    }
    return out;
  }

  private static long[] requireShape(String hfName, HostTensor t, String where, long... expected) {
    if (!Arrays.equals(t.shape(), expected)) {
      throw new WeightFormatException(
          where
              + ": tensor '"
              + hfName
              + "' has shape "
              + Arrays.toString(t.shape())
              + " but the config needs "
              + Arrays.toString(expected));
    }
    return expected;
  }

  private static HostTensor transposed(String hfName, HostTensor t, String where) {
    long[] shape = t.shape();
    if (shape.length != 2) {
      throw new WeightFormatException(
          where
              + ": tensor '"
              + hfName
              + "' must be 2-D (Conv1D "
              + "[in, out]) but has shape "
              + Arrays.toString(shape));
    }
    return transposeColumns(t, 0, (int) shape[1]);
  }

  /**
   * Columns {@code [start, start + count)} of a 2-D tensor, transposed to {@code [count, rows]}.
   */
  private static HostTensor transposeColumns(HostTensor t, int start, int count) {
    long[] shape = t.shape();
    int rows = Math.toIntExact(shape[0]);
    int cols = Math.toIntExact(shape[1]);
    int size = t.dtype().byteSize();
    ByteBuffer src = t.data();
    ByteBuffer dst =
        ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(rows, count), size))
            .order(ByteOrder.LITTLE_ENDIAN);
    // Indices fit in int: a HostTensor's bytes live in one ByteBuffer (< 2 GiB).
    if (size == 4) {
      for (int c = 0; c < count; c++) {
        for (int r = 0; r < rows; r++) {
          dst.putInt(src.getInt((r * cols + start + c) * 4));
        }
      }
    } else {
      byte[] element = new byte[size];
      for (int c = 0; c < count; c++) {
        for (int r = 0; r < rows; r++) {
          src.get((r * cols + start + c) * size, element);
          dst.put(element);
        }
      }
    }
    dst.flip();
    return new HostTensor(t.dtype(), new long[] {count, rows}, dst);
  }

  private static HostTensor slice(HostTensor t, int start, int count) {
    int size = t.dtype().byteSize();
    ByteBuffer data = t.data();
    data.position(start * size).limit((start + count) * size);
    return new HostTensor(t.dtype(), new long[] {count}, data.slice());
  }
}
