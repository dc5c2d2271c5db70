package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.WeightLocationType;
import io.github.neuronexplainer.models.autoencoder.AutoencoderConfig;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import org.junit.jupiter.api.Test;

/**
 * Models and autoencoders load lazily, often on their first use inside a derivation's {@link
 * NDScope}: closing that scope must not free the weights (it did: every later use failed with
 * "Native resource has been released already").
 */
class LoadedInsideAScopeTest {

  @Test
  void aModelFirstUsedInsideAScopeKeepsItsWeights() {
    try (StandardModelContext context = StandardModelContext.of("tiny", TinyModel.CHECKPOINT);
        NDManager manager = NDManager.newBaseManager()) {
      float[] insideScope;
      try (NDScope scope = new NDScope()) {
        insideScope =
            context.getWeight(WeightLocationType.MLP_TO_RESIDUAL, 0, manager).toFloatArray();
      }
      float[] afterScope =
          context.getWeight(WeightLocationType.MLP_TO_RESIDUAL, 0, manager).toFloatArray();
      assertArrayEquals(insideScope, afterScope);
      int[] tokens = {464, 3139};
      NDArray logits =
          context
              .getOrCreateModel()
              .logits(
                  java.util.List.of(tokens),
                  io.github.neuronexplainer.models.hooks.Hooks.none(),
                  manager);
      assertEquals(context.nVocab(), logits.getShape().get(2));
    }
  }

  @Test
  void anAutoencoderFirstUsedInsideAScopeKeepsItsWeights() {
    AutoencoderConfig config =
        new AutoencoderConfig(
            ActivationLocationType.RESID_DELTA_ATTN,
            java.util.Map.of(0, "resid_delta_attn/0.safetensors"));
    try (NDManager manager = NDManager.newBaseManager();
        LazyAutoencoderContext context =
            LazyAutoencoderContext.builder(config)
                .baseDir(TestPack.load().data("tiny-sae"))
                .build(manager)) {
      NDArray input = manager.randomNormal(new ai.djl.ndarray.types.Shape(3, 64));
      float[] insideScope;
      try (NDScope scope = new NDScope()) {
        insideScope = context.autoencoder(0).encode(input).toFloatArray();
      }
      assertArrayEquals(insideScope, context.autoencoder(0).encode(input).toFloatArray());
    }
  }
}
