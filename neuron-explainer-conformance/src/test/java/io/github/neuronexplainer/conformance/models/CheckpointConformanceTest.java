package io.github.neuronexplainer.conformance.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.models.TransformerConfig;
import io.github.neuronexplainer.models.weights.Gpt2Checkpoint;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every checkpoint copy of a pack (the original's {@code .pt} pieces and/or the HF safetensors)
 * loads with the shape the harness gave the model, and the copies hold the same tensors bit for
 * bit.
 */
class CheckpointConformanceTest {

  static List<Pack> packs() {
    return Pack.all();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("packs")
  void everyCopyHasTheManifestsShapeAndTheSameTensors(Pack pack) {
    JsonNode shape = pack.manifest().path("model").path("config");
    List<Path> dirs = pack.modelDirs();
    assertFalse(dirs.isEmpty(), pack + " has no model");
    Gpt2Checkpoint first = Gpt2Checkpoint.load(dirs.get(0));
    TransformerConfig config = first.config();
    assertEquals(shape.path("n_layers").asInt(), config.nLayers(), "layers");
    assertEquals(shape.path("n_heads").asInt(), config.nHeads(), "heads");
    assertEquals(shape.path("d_model").asInt(), config.dModel(), "d_model");
    assertEquals(shape.path("ctx_window").asInt(), config.ctxWindow(), "context");
    assertEquals(
        pack.manifest().path("model").path("n_vocab").asInt(), config.nVocab(), "vocabulary");
    for (Path dir : dirs.subList(1, dirs.size())) {
      Gpt2Checkpoint other = Gpt2Checkpoint.load(dir);
      assertEquals(config, other.config(), dir.toString());
      assertEquals(first.tensors().keySet(), other.tensors().keySet(), dir.toString());
      for (String name : first.tensors().keySet()) {
        assertEquals(first.tensor(name), other.tensor(name), dir + ": " + name);
      }
    }
  }
}
