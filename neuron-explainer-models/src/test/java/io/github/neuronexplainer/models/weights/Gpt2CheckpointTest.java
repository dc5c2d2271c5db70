package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.neuronexplainer.models.TransformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gpt2CheckpointTest {
  static final TransformerConfig SMALL_ORIGINAL =
      new TransformerConfig("gpt2", 4, 8, 1, 2, 1, 4, 1e-5, 50257);

  @TempDir Path dir;

  @Test
  void tinyModelIsBitwiseIdenticalInBothLayouts() {
    Path tiny = TestData.sharedTiny();
    Gpt2Checkpoint original = Gpt2Checkpoint.load(tiny.resolve("tiny-gpt2"));
    Gpt2Checkpoint hf = Gpt2Checkpoint.load(tiny.resolve("tiny-gpt2-hf"));
    assertEquals(original.config(), hf.config());
    assertEquals(new TransformerConfig("gpt2", 64, 64, 2, 4, 1, 4, 1e-5, 50257), hf.config());
    assertEquals(
        List.copyOf(Gpt2Checkpoint.expectedShapes(hf.config()).keySet()),
        List.copyOf(original.tensors().keySet()));
    for (String name : original.tensors().keySet()) {
      assertEquals(original.tensor(name), hf.tensor(name), name);
    }
    assertEquals(original.tensor("tok_embed.weight"), original.tensor("unembed.weight"));
    assertSame(hf.tensor("tok_embed.weight"), hf.tensor("unembed.weight"));
  }

  @Test
  void piecesFromTheRepositoryMatchTheSharedCopies() {
    Path tiny = TestData.sharedTiny();
    Gpt2Checkpoint hf = Gpt2Checkpoint.load(tiny.resolve("tiny-gpt2-hf"));
    for (String name : List.of("xf_layers.0.ln_1.weight", "xf_layers.0.attn.q_proj.weight")) {
      assertEquals(
          hf.tensor(name),
          TorchPickleReader.read(TestData.resource("tiny-gpt2/model_pieces/" + name + ".pt")),
          name);
    }
  }

  @Test
  void convertsHuggingFaceLayoutLikeDownloadFromHf() throws IOException {
    Map<String, HostTensor> hf = SyntheticCheckpoints.hfTensors(1, "transformer.");
    Gpt2Checkpoint c = Gpt2Checkpoint.load(SyntheticCheckpoints.writeHf(dir.resolve("hf"), hf));
    float[] cAttn = hf.get("transformer.h.0.attn.c_attn.weight").toFloatArray(); // [8, 24]
    String[] qkv = {"q_proj", "k_proj", "v_proj"};
    for (int part = 0; part < 3; part++) {
      HostTensor w = c.tensor("xf_layers.0.attn." + qkv[part] + ".weight");
      assertArrayEquals(new long[] {8, 8}, w.shape());
      float[] values = w.toFloatArray();
      for (int out = 0; out < 8; out++) {
        for (int in = 0; in < 8; in++) {
          assertEquals(cAttn[in * 24 + part * 8 + out], values[out * 8 + in], qkv[part]);
        }
      }
      float[] bias = c.tensor("xf_layers.0.attn." + qkv[part] + ".bias").toFloatArray();
      float[] fusedBias = hf.get("transformer.h.0.attn.c_attn.bias").toFloatArray();
      for (int i = 0; i < 8; i++) {
        assertEquals(fusedBias[part * 8 + i], bias[i]);
      }
    }
    float[] cFc = hf.get("transformer.h.0.mlp.c_fc.weight").toFloatArray(); // [8, 32]
    HostTensor inLayer = c.tensor("xf_layers.0.mlp.in_layer.weight");
    assertArrayEquals(new long[] {32, 8}, inLayer.shape());
    assertEquals(cFc[3 * 32 + 17], inLayer.toFloatArray()[17 * 8 + 3]);
    assertArrayEquals(new long[] {8, 32}, c.tensor("xf_layers.0.mlp.out_layer.weight").shape());
    assertEquals(hf.get("transformer.wte.weight"), c.tensor("unembed.weight"));
    assertEquals(hf.get("transformer.ln_f.bias"), c.tensor("final_ln.bias"));
    assertEquals(Gpt2Checkpoint.expectedShapes(c.config()).keySet(), c.tensors().keySet());
  }

  @Test
  void namesWithoutPrefixAndAnExplicitLmHeadWork() throws IOException {
    Map<String, HostTensor> hf = SyntheticCheckpoints.hfTensors(2, "");
    HostTensor lmHead = SyntheticCheckpoints.random(new Random(3), 10, 8);
    hf.put("lm_head.weight", lmHead);
    hf.put("h.0.attn.masked_bias", HostTensor.ofFloats(new float[] {-1e4f}));
    hf.put("h.0.something.new", HostTensor.ofFloats(new float[] {1}, 1));
    Gpt2Checkpoint c = Gpt2Checkpoint.load(SyntheticCheckpoints.writeHf(dir.resolve("hf"), hf));
    assertEquals(lmHead, c.tensor("unembed.weight"));
    assertEquals(hf.get("wpe.weight"), c.tensor("pos_embed.weight"));
  }

  @Test
  void missingTensorIsNamed() throws IOException {
    Map<String, HostTensor> hf = SyntheticCheckpoints.hfTensors(4, "");
    hf.remove("h.0.ln_2.bias");
    Path folder = SyntheticCheckpoints.writeHf(dir.resolve("hf"), hf);
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(e.getMessage().contains("'xf_layers.0.ln_2.bias' is missing"), e.getMessage());
    assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
  }

  @Test
  void wrongShapeNamesTensorExpectedActualAndFile() throws IOException {
    Map<String, HostTensor> hf = SyntheticCheckpoints.hfTensors(5, "");
    hf.put("h.0.mlp.c_fc.weight", SyntheticCheckpoints.random(new Random(6), 8, 16));
    Path folder = SyntheticCheckpoints.writeHf(dir.resolve("hf"), hf);
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(
        e.getMessage().contains("'xf_layers.0.mlp.in_layer.weight' has shape [16, 8]"),
        e.getMessage());
    assertTrue(e.getMessage().contains("needs [32, 8]"), e.getMessage());
    assertTrue(
        e.getMessage().contains(folder.resolve("model.safetensors").toString()), e.getMessage());

    hf.put("h.0.attn.c_attn.weight", SyntheticCheckpoints.random(new Random(7), 24, 8));
    SafetensorsFile.write(folder.resolve("model.safetensors"), hf, Map.of());
    WeightFormatException fused =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(
        fused.getMessage().contains("'h.0.attn.c_attn.weight' has shape [24, 8]"),
        fused.getMessage());
  }

  @Test
  void loadsOriginalPiecesLayout() throws IOException {
    Map<String, HostTensor> tensors = randomOriginal(8);
    Path folder = SyntheticCheckpoints.writeOriginal(dir.resolve("orig"), SMALL_ORIGINAL, tensors);
    Gpt2Checkpoint c = Gpt2Checkpoint.load(folder);
    assertEquals(SMALL_ORIGINAL, c.config());
    assertEquals(tensors, c.tensors());
  }

  @Test
  void missingPieceIsNamed() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeOriginal(dir.resolve("orig"), SMALL_ORIGINAL, randomOriginal(9));
    Files.delete(folder.resolve("model_pieces/xf_layers.0.attn.v_proj.bias.pt"));
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(
        e.getMessage().contains("tensor 'xf_layers.0.attn.v_proj.bias' is missing"),
        e.getMessage());
    assertTrue(e.getMessage().contains("xf_layers.0.attn.v_proj.bias.pt"), e.getMessage());
  }

  @Test
  void misshapenPieceNamesItsFile() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeOriginal(dir.resolve("orig"), SMALL_ORIGINAL, randomOriginal(10));
    Path piece = folder.resolve("model_pieces/final_ln.weight.pt");
    TorchZipWriter.writeBareTensor(piece, HostTensor.ofFloats(new float[4], 4));
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(e.getMessage().contains(piece.toString()), e.getMessage());
    assertTrue(
        e.getMessage().contains("'final_ln.weight' has shape [4] but the config needs [8]"),
        e.getMessage());
  }

  @Test
  void pieceThatIsNotATensorIsRejected() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeOriginal(dir.resolve("orig"), SMALL_ORIGINAL, randomOriginal(11));
    Path piece = folder.resolve("model_pieces/final_ln.bias.pt");
    new TorchZipWriter().raw('}').write(piece);
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Gpt2Checkpoint.load(folder));
    assertTrue(
        e.getMessage().contains("expected a bare tensor for 'final_ln.bias'"), e.getMessage());
  }

  @Test
  void unrecognisedConfigIsExplained() throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 8}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Gpt2Checkpoint.load(dir));
    assertTrue(e.getMessage().contains("neither the original's config"), e.getMessage());
  }

  @Test
  void invalidConfigValuesNameTheFile() throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"d_model\": 10, \"n_heads\": 3}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Gpt2Checkpoint.load(dir));
    assertTrue(e.getMessage().contains(dir.resolve("config.json").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("not divisible by nHeads = 3"), e.getMessage());
  }

  @Test
  void missingFolderIsAFetchError() {
    WeightFetchException e =
        assertThrows(WeightFetchException.class, () -> Gpt2Checkpoint.load(dir.resolve("nope")));
    assertTrue(e.getMessage().contains("weight file not found"), e.getMessage());
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
  }

  static Map<String, HostTensor> randomOriginal(long seed) {
    Random random = new Random(seed);
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    Gpt2Checkpoint.expectedShapes(SMALL_ORIGINAL)
        .forEach((name, shape) -> tensors.put(name, SyntheticCheckpoints.random(random, shape)));
    return tensors;
  }
}
