package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchPickleReaderTest {
  @TempDir Path dir;

  @Test
  void readsBareTensorPieceWrittenByTorch() {
    Object value =
        TorchPickleReader.read(
            TestData.resource("tiny-gpt2/model_pieces/xf_layers.0.ln_1.weight.pt"));
    HostTensor tensor = assertInstanceOf(HostTensor.class, value);
    assertEquals(DType.F32, tensor.dtype());
    assertArrayEquals(new long[] {64}, tensor.shape());
    // layer-norm weights were initialised as 1 + N(0, 0.1)
    double mean = 0;
    for (float v : tensor.toFloatArray()) {
      mean += v / 64;
    }
    assertEquals(1.0, mean, 0.1);
  }

  @Test
  void saeStateDictMatchesItsSafetensorsTwin() {
    for (String kind : List.of("resid_delta_attn", "resid_delta_mlp")) {
      Object value = TorchPickleReader.read(TestData.resource("tiny-sae/" + kind + "/0.pt"));
      @SuppressWarnings("unchecked")
      Map<String, Object> stateDict = assertInstanceOf(LinkedHashMap.class, value);
      Map<String, HostTensor> twin =
          SafetensorsFile.read(TestData.resource("tiny-sae/" + kind + "/0.safetensors")).tensors();
      for (Map.Entry<String, HostTensor> entry : twin.entrySet()) {
        assertEquals(entry.getValue(), stateDict.get(entry.getKey()), kind + " " + entry.getKey());
      }
      assertEquals("pre_bias", stateDict.keySet().iterator().next(), "file order is kept");
    }
  }

  @Test
  void everySharedSaeMatchesItsTwin() {
    Path sae = TestData.sharedTiny().resolve("tiny-sae");
    for (String kind : List.of("mlp_post_act", "resid_delta_attn", "resid_delta_mlp")) {
      for (int layer = 0; layer < 2; layer++) {
        Path pt = sae.resolve(kind + "/" + layer + ".pt");
        Map<?, ?> stateDict = (Map<?, ?>) TorchPickleReader.read(pt);
        SafetensorsFile.TensorFile twin =
            SafetensorsFile.read(sae.resolve(kind + "/" + layer + ".safetensors"));
        twin.tensors()
            .forEach((name, tensor) -> assertEquals(tensor, stateDict.get(name), pt + " " + name));
        assertEquals(twin.metadata().get("activation"), stateDict.get("activation"), pt.toString());
      }
    }
  }

  @Test
  void keepsNonTensorValuesAndOrderedDictEntriesThroughBuild() {
    @SuppressWarnings("unchecked")
    Map<String, Object> sd =
        (Map<String, Object>)
            TorchPickleReader.read(TestData.resource("tiny-sae/resid_delta_attn/0.pt"));
    assertEquals(
        List.of(
            "pre_bias",
            "latent_bias",
            "stats_last_nonzero",
            "latents_activation_frequency",
            "latents_mean_square",
            "encoder.weight",
            "activation.k",
            "activation.postact_fn",
            "decoder.weight",
            "activation",
            "activation_state_dict"),
        List.copyOf(sd.keySet()));
    assertEquals("TopK", sd.get("activation"));
    assertEquals(8L, sd.get("activation.k"));
    // nested OrderedDict with _metadata: its entries must survive BUILD
    assertEquals(Map.of("k", 8L, "postact_fn", "ReLU"), sd.get("activation_state_dict"));
    HostTensor stats = (HostTensor) sd.get("stats_last_nonzero");
    assertEquals(DType.I64, stats.dtype());
    assertEquals(128, stats.toLongArray().length);
  }

  @Test
  void gathersStridedViewAndAppliesOffset() throws IOException {
    // storage 0..11 viewed as the transpose of a 3x4 matrix: shape [4,3], stride [1,4]
    float[] storage = new float[12];
    for (int i = 0; i < 12; i++) {
      storage[i] = i;
    }
    Path transposed =
        new TorchZipWriter()
            .tensor("FloatStorage", "0", 12, 0, new long[] {4, 3}, new long[] {1, 4})
            .floatStorage("0", storage)
            .write(dir.resolve("t.pt"));
    HostTensor t = (HostTensor) TorchPickleReader.read(transposed);
    assertArrayEquals(new long[] {4, 3}, t.shape());
    assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, t.toFloatArray());

    Path offset =
        new TorchZipWriter()
            .tensor("FloatStorage", "0", 12, 5, new long[] {2, 2}, new long[] {2, 1})
            .floatStorage("0", storage)
            .write(dir.resolve("o.pt"));
    assertArrayEquals(
        new float[] {5, 6, 7, 8}, ((HostTensor) TorchPickleReader.read(offset)).toFloatArray());

    Path contiguousSlice =
        new TorchZipWriter()
            .tensor("FloatStorage", "0", 12, 4, new long[] {4}, new long[] {1})
            .floatStorage("0", storage)
            .write(dir.resolve("c.pt"));
    assertArrayEquals(
        new float[] {4, 5, 6, 7},
        ((HostTensor) TorchPickleReader.read(contiguousSlice)).toFloatArray());
  }

  @Test
  void rejectsViewPastStorageEnd() throws IOException {
    Path file =
        new TorchZipWriter()
            .tensor("FloatStorage", "0", 4, 2, new long[] {4}, new long[] {1})
            .floatStorage("0", 1, 2, 3, 4)
            .write(dir.resolve("past.pt"));
    assertFormatError(file, "past the end of the storage (4 elements)");
  }

  @Test
  void rejectsStorageShorterThanNumel() throws IOException {
    Path file =
        new TorchZipWriter()
            .tensor("FloatStorage", "0", 8, 0, new long[] {8}, new long[] {1})
            .floatStorage("0", 1, 2, 3)
            .write(dir.resolve("short.pt"));
    assertFormatError(file, "archive/data/0 has 12 bytes", "need 32");
  }

  @Test
  void rejectsMissingStorageEntry() throws IOException {
    Path file =
        new TorchZipWriter()
            .tensor("FloatStorage", "7", 1, 0, new long[] {1}, new long[] {1})
            .write(dir.resolve("nostorage.pt"));
    assertFormatError(file, "storage entry archive/data/7 is missing");
  }

  @Test
  void rejectsTruncatedZip() throws IOException {
    byte[] whole = Files.readAllBytes(TestData.resource("tiny-sae/resid_delta_attn/0.pt"));
    Path file = dir.resolve("truncated.pt");
    Files.write(file, Arrays.copyOf(whole, whole.length / 2));
    assertFormatError(file, "truncated or corrupt");
  }

  @Test
  void rejectsLegacyNonZipFile() throws IOException {
    Path file = dir.resolve("legacy.pt");
    Files.write(file, new byte[] {(byte) 0x80, 0x02, 'K', 1, '.'});
    assertFormatError(file, "not a zip file", "torch >= 1.6");
  }

  @Test
  void rejectsZipWithoutDataPkl() throws IOException {
    Path file = dir.resolve("nopkl.pt");
    TorchZipWriter.writeZip(
        file, Map.of("archive/version", "3".getBytes(StandardCharsets.US_ASCII)));
    assertFormatError(file, "no <archive>/data.pkl");
  }

  @Test
  void rejectsBigEndianFiles() throws IOException {
    Path file = dir.resolve("big.pt");
    TorchZipWriter.writeZip(
        file,
        Map.of(
            "archive/data.pkl",
            new byte[] {(byte) 0x80, 0x02, 'K', 1, '.'},
            "archive/byteorder",
            "big".getBytes(StandardCharsets.US_ASCII)));
    assertFormatError(file, "byteorder is 'big'");
  }

  @Test
  void readsPlainValues() throws IOException {
    Path file =
        new TorchZipWriter()
            .raw('}')
            .mark()
            .string("n")
            .integer(3)
            .string("name")
            .string("x")
            .string("flag")
            .raw(0x88)
            .string("none")
            .raw('N')
            .string("list")
            .raw(']')
            .mark()
            .integer(1)
            .integer(2)
            .raw('e')
            .raw('u')
            .write(dir.resolve("plain.pt"));
    Map<String, Object> expected = new LinkedHashMap<>();
    expected.put("n", 3L);
    expected.put("name", "x");
    expected.put("flag", true);
    expected.put("none", null);
    expected.put("list", List.of(1L, 2L));
    Object value = TorchPickleReader.read(file);
    assertEquals(expected, value);
    assertEquals(List.copyOf(expected.keySet()), List.copyOf(((Map<?, ?>) value).keySet()));
  }

  @Test
  void refusesOsSystemAndRunsNothing() throws IOException {
    Path marker = dir.resolve("pwned");
    Path file =
        new TorchZipWriter()
            .global("os", "system")
            .string("touch " + marker)
            .raw(0x85, 'R')
            .write(dir.resolve("evil.pt"));
    assertFormatError(
        file, "refuses to load global os.system", "only torch tensor state dicts are supported");
    assertFalse(Files.exists(marker), "the command must not run");
  }

  @Test
  void refusesTheExactBriefPayload() throws IOException {
    byte[] pickle =
        "\u0080\u0002cos\nsystem\nq\u0000X\u0004\u0000\u0000\u0000trueq\u0001\u0085q\u0002Rq\u0003."
            .getBytes(StandardCharsets.ISO_8859_1);
    Path file = dir.resolve("true.pt");
    TorchZipWriter.writeZip(file, Map.of("archive/data.pkl", pickle));
    assertFormatError(file, "refuses to load global os.system");
  }

  @Test
  void refusesOtherGlobalsIncludingPyroliteBuiltIns() throws IOException {
    for (String[] global :
        List.of(
            new String[] {"builtins", "eval"},
            new String[] {"__builtin__", "getattr"},
            new String[] {"subprocess", "Popen"},
            new String[] {"copy_reg", "_reconstructor"},
            new String[] {"builtins", "set"},
            new String[] {"torch", "load"},
            new String[] {"torch._utils", "_rebuild_from_type_v2"})) {
      Path file =
          new TorchZipWriter()
              .global(global[0], global[1])
              .raw(')', 'R')
              .write(dir.resolve(global[0] + "-" + global[1] + ".pt"));
      assertFormatError(file, "refuses to load global " + global[0] + "." + global[1]);
    }
  }

  @Test
  void refusesStackGlobalAndInst() throws IOException {
    Path stackGlobal =
        new TorchZipWriter()
            .string("builtins")
            .string("exec")
            .raw(0x93)
            .write(dir.resolve("sg.pt"));
    assertFormatError(stackGlobal, "refuses to load global builtins.exec");
    Path inst =
        new TorchZipWriter()
            .mark()
            .string("ls")
            .raw('i')
            .text("os\nsystem\n")
            .write(dir.resolve("inst.pt"));
    assertFormatError(inst, "refuses to load global os.system");
  }

  @Test
  void refusesBuildOnNonOrderedDict() throws IOException {
    Path file = new TorchZipWriter().raw(']').raw('}').raw('b').write(dir.resolve("build.pt"));
    assertFormatError(file, "BUILD on", "only OrderedDict state may be restored");
  }

  @Test
  void rejectsCorruptPickle() throws IOException {
    Path lying = new TorchZipWriter().raw('X', 0xff, 0xff, 0xff, 0x7f).write(dir.resolve("len.pt"));
    assertFormatError(lying, "declares 2147483647 bytes");
    Path cyclic = new TorchZipWriter().raw(']', 'q', 0, 'h', 0, 'a').write(dir.resolve("cyc.pt"));
    assertFormatError(cyclic, "cyclic");
    Path noStop = dir.resolve("nostop.pt");
    TorchZipWriter.writeZip(noStop, Map.of("archive/data.pkl", new byte[] {(byte) 0x80, 2, 'K'}));
    assertFormatError(noStop, "corrupt or unsupported pickle");
  }

  private static void assertFormatError(Path file, String... fragments) {
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> TorchPickleReader.read(file));
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(
          e.getMessage().contains(fragment), "expected '" + fragment + "' in: " + e.getMessage());
    }
  }
}
