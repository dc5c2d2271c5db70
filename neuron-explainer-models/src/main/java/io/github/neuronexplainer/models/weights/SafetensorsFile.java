package io.github.neuronexplainer.models.weights;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format:
 * an 8-byte little-endian header length, a JSON header, then the raw tensor bytes.
 *
 * <p>Reading validates the header completely before any tensor is used (see {@link #read(Path)}).
 * Tensor bytes are copied into off-heap buffers instead of memory-mapped, so a file that is
 * truncated or rewritten while in use can never fault the JVM.
 *
 * <p>Thread-safety: stateless; all methods may be called concurrently (on different files for
 * {@link #write}).
 */
public final class SafetensorsFile {
  /** Headers larger than this are refused as corrupt (real headers are a few hundred KB). */
  public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

  private static final String METADATA_KEY = "__metadata__";
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private SafetensorsFile() {}

  /**
   * The contents of a safetensors file. Thread-safety: immutable, safe to share.
   *
   * @param tensors tensors in header order (unmodifiable)
   * @param metadata the {@code __metadata__} string map, empty if absent (unmodifiable)
   */
  public record TensorFile(Map<String, HostTensor> tensors, Map<String, String> metadata) {
    public TensorFile {
      tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
      metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }
  }

  private record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

  /**
   * Reads a whole safetensors file.
   *
   * @throws WeightFormatException if the header length is implausible (over {@link
   *     #MAX_HEADER_BYTES} or past the end of the file), the header is not a JSON object, an entry
   *     lacks {@code dtype}/{@code shape}/{@code data_offsets}, names an unknown dtype, has a
   *     negative dimension, offsets outside the data section or overlapping another tensor, or a
   *     byte range that does not match its shape
   * @throws UncheckedIOException if the file cannot be read
   */
  public static TensorFile read(Path file) {
    try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
      long fileSize = channel.size();
      if (fileSize < 8) {
        throw error(
            file, "file has " + fileSize + " bytes, too short for the 8-byte header length");
      }
      long headerLength = readFully(channel, 0, 8, file).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
        throw error(
            file,
            "header length "
                + Long.toUnsignedString(headerLength)
                + " is impossible for a file of "
                + fileSize
                + " bytes (must be >= 2, <= "
                + MAX_HEADER_BYTES
                + " and fit in the file); the file is corrupt or not safetensors");
      }
      ByteBuffer headerBytes = readFully(channel, 8, (int) headerLength, file);
      String headerText = StandardCharsets.UTF_8.decode(headerBytes).toString();
      long dataStart = 8 + headerLength;
      long dataSize = fileSize - dataStart;
      Map<String, String> metadata = new LinkedHashMap<>();
      List<Entry> entries = parseHeader(file, headerText, dataSize, metadata);

      Map<String, HostTensor> tensors = new LinkedHashMap<>();
      for (Entry entry : entries) {
        long length = entry.end - entry.begin;
        if (length > Integer.MAX_VALUE - 8) {
          throw error(
              file,
              "tensor '"
                  + entry.name
                  + "' has "
                  + length
                  + " bytes; tensors over 2 GiB are not supported");
        }
        ByteBuffer data = readFully(channel, dataStart + entry.begin, (int) length, file);
        tensors.put(entry.name, new HostTensor(entry.dtype, entry.shape, data));
      }
      return new TensorFile(tensors, metadata);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read safetensors file " + file, e);
    }
  }

  private static List<Entry> parseHeader(
      Path file, String headerText, long dataSize, Map<String, String> metadataOut) {
    JsonNode root;
    try {
      root = JSON.readTree(headerText.strip());
    } catch (JsonProcessingException e) {
      throw new WeightFormatException(
          file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw error(file, "header must be a JSON object");
    }
    List<Entry> entries = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (name.equals(METADATA_KEY)) {
        parseMetadata(file, value, metadataOut);
      } else {
        entries.add(parseEntry(file, name, value, dataSize));
      }
    }
    List<Entry> byOffset = new ArrayList<>(entries);
    byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
    for (int i = 1; i < byOffset.size(); i++) {
      Entry previous = byOffset.get(i - 1);
      Entry current = byOffset.get(i);
      if (current.begin < previous.end) {
        throw error(
            file,
            "tensors '"
                + previous.name
                + "' ["
                + previous.begin
                + ", "
                + previous.end
                + ") and '"
                + current.name
                + "' ["
                + current.begin
                + ", "
                + current.end
                + ") overlap in the data section");
      }
    }
    return entries;
  }

  private static void parseMetadata(Path file, JsonNode value, Map<String, String> out) {
    if (!value.isObject()) {
      throw error(file, METADATA_KEY + " must be a JSON object of strings");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      if (!field.getValue().isTextual()) {
        throw error(file, METADATA_KEY + " value for '" + field.getKey() + "' must be a string");
      }
      out.put(field.getKey(), field.getValue().asText());
    }
  }

  private static Entry parseEntry(Path file, String name, JsonNode value, long dataSize) {
    String where = "tensor '" + name + "'";
    if (!value.isObject()) {
      throw error(file, where + ": header entry must be an object");
    }
    JsonNode dtypeNode = value.get("dtype");
    JsonNode shapeNode = value.get("shape");
    JsonNode offsetsNode = value.get("data_offsets");
    if (dtypeNode == null || shapeNode == null || offsetsNode == null) {
      throw error(file, where + ": header entry needs dtype, shape and data_offsets, got " + value);
    }
    if (!dtypeNode.isTextual()) {
      throw error(file, where + ": dtype must be a string, got " + dtypeNode);
    }
    DType dtype =
        DType.fromSafetensorsName(dtypeNode.asText())
            .orElseThrow(
                () ->
                    error(
                        file,
                        where
                            + ": unknown or unsupported dtype '"
                            + dtypeNode.asText()
                            + "' (supported: "
                            + Arrays.toString(DType.values())
                            + ")"));
    long[] shape = nonNegativeLongs(file, where, "shape", shapeNode, -1);
    long[] offsets = nonNegativeLongs(file, where, "data_offsets", offsetsNode, 2);
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end || end > dataSize) {
      throw error(
          file,
          where
              + ": data_offsets ["
              + begin
              + ", "
              + end
              + "] lie outside the data section of "
              + dataSize
              + " bytes");
    }
    long expected;
    try {
      expected = Math.multiplyExact(HostTensor.numelOf(shape), (long) dtype.byteSize());
    } catch (ArithmeticException e) {
      throw error(file, where + ": shape " + Arrays.toString(shape) + " is too large");
    }
    if (end - begin != expected) {
      throw error(
          file,
          where
              + ": data_offsets span "
              + (end - begin)
              + " bytes but dtype "
              + dtype
              + " with shape "
              + Arrays.toString(shape)
              + " needs "
              + expected);
    }
    return new Entry(name, dtype, shape, begin, end);
  }

  private static long[] nonNegativeLongs(
      Path file, String where, String key, JsonNode node, int requiredLength) {
    if (!node.isArray() || (requiredLength >= 0 && node.size() != requiredLength)) {
      throw error(
          file,
          where
              + ": "
              + key
              + " must be an array"
              + (requiredLength >= 0 ? " of " + requiredLength + " integers" : "")
              + ", got "
              + node);
    }
    long[] out = new long[node.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode element = node.get(i);
      if (!element.isIntegralNumber() || !element.canConvertToLong() || element.asLong() < 0) {
        throw error(file, where + ": " + key + " must hold non-negative integers, got " + node);
      }
      out[i] = element.asLong();
    }
    return out;
  }

  /**
   * Writes {@code tensors} (in map order) and {@code metadata} as a safetensors file. The file is
   * written to a temporary name in the same folder and then renamed, so {@code file} is either
   * absent/unchanged or complete.
   *
   * @param metadata string map stored as {@code __metadata__}; may be empty or null
   * @throws UncheckedIOException if writing fails (no partial file is left)
   */
  public static void write(
      Path file, Map<String, HostTensor> tensors, Map<String, String> metadata) {
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode meta = header.putObject(METADATA_KEY);
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, HostTensor> entry : tensors.entrySet()) {
      if (entry.getKey().equals(METADATA_KEY)) {
        throw new IllegalArgumentException("a tensor may not be named " + METADATA_KEY);
      }
      HostTensor tensor = entry.getValue();
      ObjectNode node = header.putObject(entry.getKey());
      node.put("dtype", tensor.dtype().safetensorsName());
      ArrayNode shape = node.putArray("shape");
      Arrays.stream(tensor.shape()).forEach(shape::add);
      node.putArray("data_offsets").add(offset).add(offset + tensor.byteSize());
      offset += tensor.byteSize();
    }
    byte[] headerJson;
    try {
      headerJson = JSON.writeValueAsBytes(header);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not serialise safetensors header", e);
    }
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    int padded = (headerJson.length + 7) / 8 * 8;
    ByteBuffer prefix = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    prefix.putLong(padded).put(headerJson);
    while (prefix.hasRemaining()) {
      prefix.put((byte) ' ');
    }
    prefix.flip();

    Path temp = null;
    try {
      temp = AtomicFiles.newTempFileFor(file);
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        writeFully(out, prefix);
        for (HostTensor tensor : tensors.values()) {
          writeFully(out, tensor.data());
        }
        out.force(true);
      }
      AtomicFiles.moveIntoPlace(temp, file);
      temp = null;
    } catch (IOException e) {
      throw new UncheckedIOException("could not write safetensors file " + file, e);
    } finally {
      if (temp != null) {
        AtomicFiles.deleteQuietly(temp);
      }
    }
  }

  private static ByteBuffer readFully(FileChannel channel, long position, int length, Path file)
      throws IOException {
    ByteBuffer buffer = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
    while (buffer.hasRemaining()) {
      int read = channel.read(buffer, position + buffer.position());
      if (read < 0) {
        throw error(
            file, "file ended while reading bytes " + position + ".." + (position + length));
      }
    }
    buffer.flip();
    return buffer;
  }

  private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) {
      channel.write(buffer);
    }
  }

  private static WeightFormatException error(Path file, String problem) {
    return new WeightFormatException(file + ": " + problem);
  }
}
