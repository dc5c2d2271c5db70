package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.neuronexplainer.models.TestPack;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import io.github.neuronexplainer.models.weights.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading the original's state dicts: .pt vs safetensors twins, sizes, and clear errors. */
class AutoencoderLoadingTest {
  private static final TestPack PACK = TestPack.load();
  private static final NDManager M = NDManager.newBaseManager();

  @AfterAll
  static void close() {
    M.close();
  }

  /**
   * Every .pt of the pack (all SAEs in the full pack; only resid_delta_attn in the in-repo one)
   * equals its safetensors twin: weights, buffers and activation, and matches the SAE manifest.
   */
  @Test
  void everyPtFileEqualsItsSafetensorsTwin() throws IOException {
    JsonNode saeManifest =
        new ObjectMapper()
            .readTree(PACK.data("tiny-sae/manifest.json").toFile())
            .path("autoencoders");
    int compared = 0;
    for (SaePack.Family family : SaePack.families(PACK).values()) {
      for (Map.Entry<Integer, String> e : family.ptPaths().entrySet()) {
        Path pt = PACK.data(e.getValue());
        Path twin = PACK.data(SaePack.twin(e.getValue()));
        try (Autoencoder fromSafetensors = Autoencoder.load(twin, M)) {
          assertEquals(family.nLatents(), fromSafetensors.nLatents(), twin.toString());
          JsonNode info =
              saeManifest.path(family.input().name().toLowerCase(java.util.Locale.ROOT));
          assertEquals(info.path("n_inputs").asInt(), fromSafetensors.nInputs(), twin.toString());
          assertEquals(
              info.path("activation").asText(), fromSafetensors.latentActivation().toString());
          if (!Files.exists(pt)) {
            continue;
          }
          try (Autoencoder fromPt = Autoencoder.load(pt, M)) {
            assertSameAutoencoder(fromSafetensors, fromPt, pt.toString());
            compared++;
          }
        }
      }
    }
    assertTrue(compared >= 2, "the pack has no .pt autoencoders to compare (" + compared + ")");
  }

  private static void assertSameAutoencoder(Autoencoder expected, Autoencoder actual, String what) {
    Map<String, Object> e = expected.stateDict();
    Map<String, Object> a = actual.stateDict();
    assertEquals(e.keySet(), a.keySet(), what);
    for (String key : e.keySet()) {
      if (e.get(key) instanceof HostTensor t) {
        HostTensor u = (HostTensor) a.get(key);
        assertArrayEquals(t.shape(), u.shape(), what + " " + key);
        if (t.dtype() == io.github.neuronexplainer.models.weights.DType.I64) {
          assertArrayEquals(t.toLongArray(), u.toLongArray(), what + " " + key);
        } else {
          assertArrayEquals(t.toFloatArray(), u.toFloatArray(), what + " " + key);
        }
      } else {
        assertEquals(e.get(key), a.get(key), what + " " + key);
      }
    }
  }

  @Test
  void aSingleTensorIsNotAnAutoencoder() {
    Path piece =
        Path.of("src/test/resources/weights/tiny-gpt2/model_pieces/xf_layers.0.ln_1.weight.pt");
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Autoencoder.load(piece, M));
    assertTrue(e.getMessage().contains("single tensor"), e.getMessage());
  }

  @Test
  void missingWeightsInconsistentShapesAndBadActivationsAreNamed(@TempDir Path dir) {
    Map<String, HostTensor> ok = tensors(3, 2, 2, 3);
    Map<String, HostTensor> noDecoder = new LinkedHashMap<>(ok);
    noDecoder.remove("decoder.weight");
    assertMessage(write(dir, "no-decoder", noDecoder, Map.of()), "no 'decoder.weight'");
    assertMessage(
        write(dir, "swapped", tensors(3, 2, 3, 2), Map.of()), "'decoder.weight' is [3, 2]");
    Map<String, HostTensor> badBias = new LinkedHashMap<>(ok);
    badBias.put("latent_bias", HostTensor.ofFloats(new float[2], 2));
    assertMessage(write(dir, "bias", badBias, Map.of()), "'latent_bias' is [2]");
    assertMessage(
        write(dir, "gelu", ok, Map.of("activation", "GELU")), "unknown autoencoder activation");
    assertMessage(
        write(dir, "topk", ok, Map.of("activation", "TopK", "activation_state_dict", "{}")),
        "positive integer 'k'");
    try (Autoencoder ae =
        Autoencoder.load(
            write(
                dir,
                "good",
                ok,
                Map.of(
                    "activation",
                    "TopK",
                    "activation_state_dict",
                    "{\"k\": 1, \"postact_fn\": \"Identity\"}")),
            M)) {
      assertEquals("TopK(k=1, postact_fn=Identity)", ae.latentActivation().toString());
    }
  }

  @Test
  void saveSafetensorsRoundTrips(@TempDir Path dir) {
    Path file = write(dir, "plain", tensors(3, 2, 2, 3), Map.of());
    try (Autoencoder ae = Autoencoder.load(file, M)) {
      assertEquals(LatentActivation.RELU, ae.latentActivation(), "no metadata means ReLU");
      Path copy = dir.resolve("copy.safetensors");
      ae.saveSafetensors(copy);
      try (Autoencoder again = Autoencoder.load(copy, M)) {
        assertSameAutoencoder(ae, again, copy.toString());
      }
    }
  }

  private static void assertMessage(Path file, String fragment) {
    WeightFormatException e =
        assertThrows(WeightFormatException.class, () -> Autoencoder.load(file, M));
    assertTrue(e.getMessage().contains(fragment), e.getMessage());
    assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
  }

  private static Map<String, HostTensor> tensors(int nLat, int nIn, int decRows, int decCols) {
    Map<String, HostTensor> t = new LinkedHashMap<>();
    t.put("pre_bias", HostTensor.ofFloats(new float[nIn], nIn));
    t.put("encoder.weight", HostTensor.ofFloats(new float[nLat * nIn], nLat, nIn));
    t.put("latent_bias", HostTensor.ofFloats(new float[nLat], nLat));
    t.put("decoder.weight", HostTensor.ofFloats(new float[decRows * decCols], decRows, decCols));
    return t;
  }

  private static Path write(
      Path dir, String name, Map<String, HostTensor> t, Map<String, String> meta) {
    Path file = dir.resolve(name + ".safetensors");
    SafetensorsFile.write(file, t, meta);
    return file;
  }
}
