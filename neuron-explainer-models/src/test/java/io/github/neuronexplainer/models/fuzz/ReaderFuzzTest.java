package io.github.neuronexplainer.models.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import io.github.neuronexplainer.models.weights.TorchPickleReader;
import io.github.neuronexplainer.models.weights.WeightFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mutation fuzzing of the readers of untrusted weight files: every mutated input must load or fail
 * with {@link WeightFormatException}, never another exception, an error (OutOfMemoryError from a
 * lying length), a JVM crash or a hang (each input gets {@link #MAX_MILLIS_PER_INPUT}).
 */
class ReaderFuzzTest {
  private static final long MAX_MILLIS_PER_INPUT = 2_000;
  private static final Path SAE = Path.of("src/test/resources/weights/tiny-sae/resid_delta_mlp");

  @TempDir Path dir;

  @Test
  void safetensors() throws IOException {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    tensors.put("w", HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
    tensors.put("ids", HostTensor.ofLongs(new long[] {7, 8}, 2));
    Path seed = dir.resolve("seed.safetensors");
    SafetensorsFile.write(seed, tensors, Map.of("format", "pt"));
    fuzz("safetensors", Files.readAllBytes(seed), 3000, ".safetensors", SafetensorsFile::read);
  }

  @Test
  void torchZipPickle() throws IOException {
    fuzz("pt", Files.readAllBytes(SAE.resolve("0.pt")), 1500, ".pt", TorchPickleReader::read);
  }

  @Test
  void autoencoderFiles() throws IOException {
    try (NDManager manager = NDManager.newBaseManager()) {
      Consumer<Path> load = file -> Autoencoder.load(file, manager).close();
      fuzz(
          "sae-safetensors",
          Files.readAllBytes(SAE.resolve("0.safetensors")),
          1000,
          ".safetensors",
          load);
      fuzz("sae-pt", Files.readAllBytes(SAE.resolve("0.pt")), 500, ".pt", load);
    }
  }

  private void fuzz(String name, byte[] seed, int inputs, String suffix, Consumer<Path> reader)
      throws IOException {
    long seedValue = name.hashCode();
    Mutator mutator = new Mutator(seedValue);
    Path file = dir.resolve("input" + suffix);
    int refused = 0;
    long start = System.nanoTime();
    for (int i = 0; i < inputs; i++) {
      byte[] input = mutator.mutate(seed);
      Files.write(file, input);
      long t0 = System.nanoTime();
      try {
        reader.accept(file);
      } catch (WeightFormatException e) {
        refused++;
        assertTrue(
            e.getMessage() != null && !e.getMessage().isBlank(),
            "a message for " + name + " #" + i);
      } catch (Throwable t) {
        Files.write(dir.getParent().resolve("fuzz-failure-" + name + suffix), input);
        fail(name + " input #" + i + " (seed " + seedValue + ") ended in " + t, t);
      }
      long millis = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(millis < MAX_MILLIS_PER_INPUT, name + " input #" + i + " took " + millis + " ms");
    }
    System.out.printf(
        "fuzz %s: %d inputs, %d refused, %.1f s%n",
        name, inputs, refused, (System.nanoTime() - start) / 1e9);
    assertTrue(
        refused > inputs / 10,
        name + ": the mutations must reach the checks, only " + refused + " refused");
  }
}
