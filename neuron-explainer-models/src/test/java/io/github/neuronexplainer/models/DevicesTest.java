package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.models.autoencoder.AutoencoderConfig;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DevicesTest {
  private static final String TINY = TestPack.load().modelDirs().get(0).toString();

  @Test
  void modelsLoadOnTheCpuByDefault() {
    try (StandardModelContext context = StandardModelContext.load(TINY);
        NDManager manager = NDManager.newBaseManager(Device.cpu())) {
      assertEquals(Device.cpu(), context.device());
      Transformer model = context.getOrCreateModel();
      assertEquals(Device.cpu(), model.device());
      NDArray logits = model.logits(List.of(new int[] {464, 3139}), Hooks.none(), manager);
      assertEquals(Device.cpu(), logits.getDevice());
      assertEquals(50257, logits.getShape().get(2));
    }
  }

  @Test
  void aGpuThisLibtorchDoesNotSeeIsRefusedAtLoadWithTheFix() {
    assumeTrue(Engine.getInstance().getGpuCount() == 0, "this machine has a GPU");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> StandardModelContext.load(TINY, Device.gpu()));
    assertTrue(
        e.getMessage()
            .startsWith(
                "Device gpu(0) is not available: the PyTorch engine (libtorch 2.7.1) sees 0 GPUs"),
        e.getMessage());
    assertTrue(e.getMessage().contains("Device.cpu()"), e.getMessage());
    AutoencoderConfig config =
        new AutoencoderConfig(ActivationLocationType.MLP_POST_ACT, Map.of(0, "x.pt"));
    IllegalArgumentException ae =
        assertThrows(
            IllegalArgumentException.class,
            () -> LazyAutoencoderContext.builder(config).device(Device.gpu(1)));
    assertTrue(ae.getMessage().startsWith("Device gpu(1) is not available"), ae.getMessage());
  }

  @Test
  void aManagerOnAnotherDeviceIsRefusedWithTheFix() {
    try (StandardModelContext context = StandardModelContext.load(TINY)) {
      Transformer model = context.getOrCreateModel();
      NDManager other = NDManager.newBaseManager(Device.gpu());
      try {
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> model.logits(List.of(new int[] {464}), Hooks.none(), other));
        assertEquals(
            "The model's weights are on cpu() but the manager passed is on gpu(0); create it with"
                + " NDManager.newBaseManager(model.device())",
            e.getMessage());
      } finally {
        other.close();
      }
    }
  }
}
