package io.github.neuronexplainer.models.derived;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.DerivedScalarIndex;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.derived.DerivedScalarStoreFile.StoreFileException;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving and loading derived-scalar stores, and refusing malformed files. */
class DerivedScalarStoreFileTest {
  @TempDir Path dir;
  private int crafted;

  private static DerivedScalarStore sample(NDManager manager) {
    Map<Integer, NDArray> mlp = new LinkedHashMap<>();
    mlp.put(2, manager.create(new float[][] {{1.5f, -2f, 0f}, {Float.MAX_VALUE, 1e-30f, -0f}}));
    mlp.put(0, manager.create(new float[][] {{3f, 4f, 5f}, {6f, 7f, 8f}}));
    return DerivedScalarStore.fromList(
        List.of(
            new ActivationsAndMetadata(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD, mlp),
            new ActivationsAndMetadata(
                DerivedScalarType.ATTN_QK_PROBS,
                PassType.BACKWARD,
                Map.of(1, manager.arange(12f).reshape(2, 2, 3))),
            new ActivationsAndMetadata(
                DerivedScalarType
                    .MLP_PRE_ACT, // a transposed (non-contiguous) view is saved by value
                PassType.FORWARD,
                Map.of(0, manager.arange(6f).reshape(3, 2).transpose())),
            new ActivationsAndMetadata(
                DerivedScalarType.LOGITS,
                PassType.FORWARD,
                Map.of(LayerIndex.NONE, manager.create(new float[][] {{-1f, 1f}})))));
  }

  @Test
  void aSavedStoreLoadsWithTheSameEntriesLayersAndValues() {
    Path file = dir.resolve("store.safetensors");
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStore store = sample(manager);
      DerivedScalarStoreFile.save(store, file);
      try (DerivedScalarStore loaded = DerivedScalarStoreFile.load(file, manager)) {
        assertTrue(loaded.contentEquals(store));
        assertEquals(
            new ArrayList<>(store.entries().keySet()), new ArrayList<>(loaded.entries().keySet()));
        assertEquals(
            List.of(2, 0),
            new ArrayList<>(
                loaded
                    .get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD)
                    .activationsByLayer()
                    .keySet()));
        assertArrayEquals(
            new float[] {Float.MAX_VALUE, 1e-30f, -0f},
            loaded.get(
                new DerivedScalarIndex(
                    DerivedScalarType.MLP_POST_ACT,
                    java.util.Arrays.asList(1, null),
                    2,
                    PassType.FORWARD)));
        assertArrayEquals(
            new float[] {11f},
            loaded.get(
                new DerivedScalarIndex(
                    DerivedScalarType.ATTN_QK_PROBS, List.of(1, 1, 2), 1, PassType.BACKWARD)));
        assertEquals(0.0, loaded.sum(null, null) - store.sum(null, null));
        assertArrayEquals(
            new float[] {0, 2, 4, 1, 3, 5},
            loaded.get(DerivedScalarType.MLP_PRE_ACT, PassType.FORWARD).get(0).toFloatArray());
      }
      // The loaded store owned its tensors; the original is untouched.
      assertEquals(
          3f, store.get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD).get(0).getFloat(0, 0));
    }
  }

  private Path withMetadata(String json, Map<String, HostTensor> tensors) {
    Path file = dir.resolve("crafted-" + crafted++ + ".safetensors");
    SafetensorsFile.write(
        file, tensors, json == null ? Map.of() : Map.of(DerivedScalarStoreFile.METADATA_KEY, json));
    return file;
  }

  private static String store(String entries) {
    return "{\"format\": \"neuron-explainer-derived-scalar-store\", \"version\": 1, \"entries\": ["
        + entries
        + "]}";
  }

  private static String mlp(String layers) {
    return "{\"dst\": \"mlp_post_act\", \"pass_type\": \"forward\", \"layers\": [" + layers + "]}";
  }

  private void assertRefused(Path file, String expected) {
    try (NDManager manager = NDManager.newBaseManager()) {
      StoreFileException e =
          assertThrows(StoreFileException.class, () -> DerivedScalarStoreFile.load(file, manager));
      assertTrue(e.getMessage().contains(expected), e.getMessage());
      assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
  }

  @Test
  void inconsistentFilesAreRefusedWithTheProblem() {
    HostTensor matrix = HostTensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2);
    HostTensor vector = HostTensor.ofFloats(new float[] {1, 2}, 2);
    Map<String, HostTensor> one = Map.of("a", matrix);
    Map<String, HostTensor> two = new LinkedHashMap<>(Map.of("a", matrix, "b", matrix));
    assertRefused(withMetadata(null, one), "not a derived scalar store file");
    assertRefused(withMetadata("{not json", one), "not valid JSON");
    assertRefused(withMetadata("{\"format\": \"other\"}", one), "\"format\"");
    assertRefused(
        withMetadata(store("").replace("\"version\": 1", "\"version\": 2"), one), "version 2");
    assertRefused(
        withMetadata(
            store(
                "{\"dst\": \"no_such_dst\", \"pass_type\": \"forward\", \"layers\": "
                    + "[{\"layer\": 0, \"tensor\": \"a\"}]}"),
            one),
        "unknown DST 'no_such_dst'");
    assertRefused(
        withMetadata(
            store(mlp("{\"layer\": 0, \"tensor\": \"a\"}").replace("forward", "sideways")), one),
        "unknown pass type 'sideways'");
    assertRefused(
        withMetadata(store(mlp("{\"layer\": 0, \"tensor\": \"zz\"}")), one),
        "'zz' is not in the file");
    assertRefused(
        withMetadata(
            store(mlp("{\"layer\": 0, \"tensor\": \"a\"}, {\"layer\": 1, \"tensor\": \"a\"}")),
            one),
        "used twice");
    assertRefused(
        withMetadata(store(mlp("{\"layer\": 0, \"tensor\": \"a\"}")), two),
        "'b' belongs to no entry");
    assertRefused(
        withMetadata(store(mlp("{\"layer\": 0, \"tensor\": \"v\"}")), Map.of("v", vector)),
        "has 1 dimensions");
    assertRefused(
        withMetadata(store(mlp("{\"layer\": -1, \"tensor\": \"a\"}")), one), "non-negative");
    assertRefused(
        withMetadata(store(mlp("{\"layer\": \"0\", \"tensor\": \"a\"}")), one), "non-negative");
    assertRefused(
        withMetadata(
            store(mlp("{\"layer\": 0, \"tensor\": \"a\"}, {\"layer\": 0, \"tensor\": \"b\"}")),
            two),
        "appears twice");
    assertRefused(
        withMetadata(
            store(mlp("{\"layer\": null, \"tensor\": \"a\"}, {\"layer\": 0, \"tensor\": \"b\"}")),
            two),
        "cannot be mixed");
    assertRefused(
        withMetadata(
            store(
                mlp("{\"layer\": 0, \"tensor\": \"a\"}")
                    + ", "
                    + mlp("{\"layer\": 1, \"tensor\": \"b\"}")),
            two),
        "a second entry for mlp_post_act/forward");
    assertRefused(withMetadata(store(mlp("{\"layer\": 0}")), one), "\"tensor\" must be a string");
    assertRefused(withMetadata(store("").replace("[]", "{}"), one), "\"entries\" must be an array");
    assertRefused(
        withMetadata(
            "{\"format\": \"neuron-explainer-derived-scalar-store\", \"version\": 1,"
                + " \"version\": 1, \"entries\": []}",
            one),
        "not valid JSON");
  }

  @Test
  void unknownDstsCanBeSkippedAsInTheOriginal() {
    Map<String, HostTensor> two = new LinkedHashMap<>();
    two.put("a", HostTensor.ofFloats(new float[] {1, 2, 3, 4}, 2, 2));
    two.put("b", HostTensor.ofFloats(new float[] {5, 6, 7, 8}, 2, 2));
    Path file =
        withMetadata(
            store(
                "{\"dst\": \"retired_dst\", \"pass_type\": \"forward\", \"layers\": "
                    + "[{\"layer\": 0, \"tensor\": \"a\"}]}, "
                    + mlp("{\"layer\": 3, \"tensor\": \"b\"}")),
            two);
    try (NDManager manager = NDManager.newBaseManager();
        DerivedScalarStore loaded = DerivedScalarStoreFile.load(file, manager, true)) {
      assertEquals(1, loaded.entries().size());
      assertArrayEquals(
          new float[] {5, 6, 7, 8},
          loaded.get(DerivedScalarType.MLP_POST_ACT, PassType.FORWARD).get(3).toFloatArray());
    }
  }

  /** Seeded byte mutations of a valid file: each loads or ends in StoreFileException, quickly. */
  @Test
  void mutatedFilesLoadOrFailCleanly() throws IOException {
    Path valid = dir.resolve("valid.safetensors");
    try (NDManager manager = NDManager.newBaseManager()) {
      DerivedScalarStoreFile.save(sample(manager), valid);
    }
    byte[] original = Files.readAllBytes(valid);
    Random random = new Random(20240611L);
    Path mutated = dir.resolve("mutated.safetensors");
    int loaded = 0;
    int refused = 0;
    for (int iteration = 0; iteration < 400; iteration++) {
      byte[] bytes = original.clone();
      int edits = 1 + random.nextInt(4);
      for (int e = 0; e < edits && bytes.length > 0; e++) {
        int at = random.nextInt(bytes.length);
        switch (random.nextInt(3)) {
          case 0 -> bytes[at] = (byte) random.nextInt(256);
          case 1 -> bytes[at] = (byte) "{}[]\",:0123456789-e".charAt(random.nextInt(19));
          default -> bytes = java.util.Arrays.copyOf(bytes, Math.max(0, at));
        }
      }
      Files.write(mutated, bytes);
      long start = System.nanoTime();
      try (NDManager manager = NDManager.newBaseManager();
          DerivedScalarStore store = DerivedScalarStoreFile.load(mutated, manager)) {
        store.numel();
        loaded++;
      } catch (StoreFileException expected) {
        refused++;
      } catch (RuntimeException other) {
        throw new AssertionError("seed 20240611 iteration " + iteration + ": " + other, other);
      }
      assertTrue(
          System.nanoTime() - start < 2_000_000_000L, "iteration " + iteration + " took over 2 s");
    }
    assertTrue(refused > 100, "refused " + refused + ", loaded " + loaded);
  }
}
