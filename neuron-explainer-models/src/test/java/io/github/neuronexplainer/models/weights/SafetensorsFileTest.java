package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsFileTest {
  @TempDir Path dir;

  @Test
  void roundTripKeepsOrderDtypesAndMetadata() throws IOException {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    tensors.put("z.weight", HostTensor.ofFloats(new float[] {1, -2, 3.5f, 4, 5, 6}, 2, 3));
    tensors.put("a.counts", HostTensor.ofLongs(new long[] {9, -1}, 2));
    tensors.put("m.empty", HostTensor.ofFloats(new float[0], 0, 4));
    tensors.put("s.scalar", HostTensor.ofFloats(new float[] {0.5f}));
    Path file = dir.resolve("rt.safetensors");
    SafetensorsFile.write(file, tensors, Map.of("activation", "ReLU"));

    SafetensorsFile.TensorFile read = SafetensorsFile.read(file);
    assertEquals(List.copyOf(tensors.keySet()), List.copyOf(read.tensors().keySet()));
    assertEquals(tensors, read.tensors());
    assertEquals(Map.of("activation", "ReLU"), read.metadata());
    assertArrayEquals(new long[] {9, -1}, read.tensors().get("a.counts").toLongArray());
    long headerLength =
        ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerLength % 8, "data section is 8-byte aligned");
    try (Stream<Path> files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList(), "no temp file left behind");
    }
  }

  @Test
  void readsSaeFixtureWrittenByPython() {
    SafetensorsFile.TensorFile file =
        SafetensorsFile.read(TestData.resource("tiny-sae/resid_delta_attn/0.safetensors"));
    assertEquals(
        List.of(
            "decoder.weight",
            "encoder.weight",
            "latent_bias",
            "latents_activation_frequency",
            "latents_mean_square",
            "pre_bias",
            "stats_last_nonzero"),
        List.copyOf(file.tensors().keySet()));
    assertArrayEquals(new long[] {64, 128}, file.tensors().get("decoder.weight").shape());
    assertEquals(DType.I64, file.tensors().get("stats_last_nonzero").dtype());
    assertEquals("TopK", file.metadata().get("activation"));
    assertEquals(
        "{\"k\": 8, \"postact_fn\": \"ReLU\"}", file.metadata().get("activation_state_dict"));
    // decoder columns are unit-norm
    float[] decoder = file.tensors().get("decoder.weight").toFloatArray();
    double norm = 0;
    for (int row = 0; row < 64; row++) {
      norm += decoder[row * 128] * decoder[row * 128];
    }
    assertEquals(1.0, norm, 1e-5);
  }

  @Test
  void rejectsOffsetsPastTheEnd() throws IOException {
    Path file = withHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8);
    assertFormatError(file, "tensor 't'", "outside the data section of 8 bytes");
  }

  @Test
  void rejectsOverlappingRanges() throws IOException {
    Path file =
        withHeader(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            12);
    assertFormatError(file, "'a'", "'b'", "overlap");
  }

  @Test
  void rejectsHeaderLengthLargerThanFile() throws IOException {
    Path file = dir.resolve("long.safetensors");
    ByteBuffer b = ByteBuffer.allocate(8 + 4).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(1000).put("{}  ".getBytes(StandardCharsets.US_ASCII));
    Files.write(file, b.array());
    assertFormatError(file, "header length 1000", "12 bytes");
  }

  @Test
  void rejectsAbsurdHeaderLength() throws IOException {
    Path file = dir.resolve("neg.safetensors");
    ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(-1).putLong(0);
    Files.write(file, b.array());
    assertFormatError(file, "header length 18446744073709551615");
  }

  @Test
  void rejectsWrongByteCountForShape() throws IOException {
    Path file = withHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8);
    assertFormatError(file, "tensor 't'", "span 8 bytes", "needs 12");
  }

  @Test
  void rejectsUnknownDtype() throws IOException {
    Path file =
        withHeader("{\"t\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
    assertFormatError(file, "tensor 't'", "unknown or unsupported dtype 'F8_E4M3'");
  }

  @Test
  void rejectsNegativeShape() throws IOException {
    Path file = withHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0);
    assertFormatError(file, "tensor 't'", "shape must hold non-negative integers");
  }

  @Test
  void rejectsMissingFieldsAndNonObjectHeader() throws IOException {
    assertFormatError(
        withHeader("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4),
        "tensor 't'",
        "needs dtype, shape and data_offsets");
    assertFormatError(withHeader("[1,2]", 0), "header must be a JSON object");
    assertFormatError(withHeader("{not json", 0), "not valid JSON");
    assertFormatError(
        withHeader(
            "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
            4),
        "not valid JSON",
        "Duplicate field 't'");
  }

  @Test
  void rejectsTooShortFile() throws IOException {
    Path file = dir.resolve("short.safetensors");
    Files.write(file, new byte[] {1, 2, 3});
    assertFormatError(file, "too short");
  }

  private Path withHeader(String json, int dataBytes) throws IOException {
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b =
        ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(header.length).put(header);
    Path file = Files.createTempFile(dir, "bad", ".safetensors");
    Files.write(file, b.array());
    return file;
  }

  private static void assertFormatError(Path file, String... fragments) {
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> SafetensorsFile.read(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
  }
}
