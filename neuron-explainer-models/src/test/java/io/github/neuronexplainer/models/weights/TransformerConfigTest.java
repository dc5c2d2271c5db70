package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.neuronexplainer.models.TransformerConfig;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class TransformerConfigTest {
  private static Path resource(String name) throws URISyntaxException {
    return Path.of(TransformerConfigTest.class.getResource("/weights/" + name).toURI());
  }

  @Test
  void parsesTheOriginalsTinyConfig() throws URISyntaxException {
    TransformerConfig c = TransformerConfig.fromOriginalJson(resource("tiny-gpt2/config.json"));
    assertEquals(new TransformerConfig("gpt2", 64, 64, 2, 4, 1, 4, 1e-5, 50257), c);
    assertEquals(256, c.dFf());
    assertEquals(64, c.dAttnQk());
    assertEquals(64, c.dAttnV());
    assertEquals(16, c.dHead());
  }

  @Test
  void parsesTheHuggingFaceTinyConfigToTheSameModel() throws URISyntaxException {
    TransformerConfig hf =
        TransformerConfig.fromHuggingFaceJson(resource("tiny-gpt2-hf-config.json"));
    TransformerConfig original =
        TransformerConfig.fromOriginalJson(resource("tiny-gpt2/config.json"));
    assertEquals(original, hf);
  }

  @Test
  void toOriginalJsonRoundTrips() {
    TransformerConfig c = new TransformerConfig("gpt2", 1024, 768, 12, 12, 1, 4, 1e-5, 50257);
    assertEquals(
        "{\"enc\":\"gpt2\",\"ctx_window\":1024,\"d_model\":768,\"n_layers\":12,"
            + "\"m_attn\":1,\"n_heads\":12,\"m_mlp\":4}",
        c.toOriginalJson());
    assertEquals(c, TransformerConfig.fromOriginalJson(c.toOriginalJson()));
  }

  @Test
  void originalDefaultsApplyToMissingKeys() {
    TransformerConfig c = TransformerConfig.fromOriginalJson("{\"d_model\": 32}");
    assertEquals(1024, c.ctxWindow());
    assertEquals(2, c.nLayers());
    assertEquals(8, c.nHeads());
    assertEquals(4, c.dHead());
  }

  @Test
  void huggingFaceNInnerAndEpsilonAreUsed() {
    TransformerConfig c =
        TransformerConfig.fromHuggingFaceJson(
            "{\"n_embd\": 16, \"n_layer\": 1,"
                + " \"n_head\": 2, \"n_positions\": 8, \"vocab_size\": 10, \"n_inner\": 48,"
                + " \"layer_norm_epsilon\": 1e-6}");
    assertEquals(48, c.dFf());
    assertEquals(1e-6, c.layerNormEpsilon());
    assertEquals(10, c.nVocab());
    assertEquals(8, c.ctxWindow());
  }

  @Test
  void rejectsOtherActivations() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TransformerConfig.fromHuggingFaceJson("{\"activation_function\": \"relu\"}"));
    assertTrue(e.getMessage().contains("activation_function is 'relu'"), e.getMessage());
  }

  @Test
  void rejectsUnknownOriginalKeys() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TransformerConfig.fromOriginalJson("{\"n_embd\": 64}"));
    assertTrue(e.getMessage().contains("unknown key 'n_embd'"), e.getMessage());
  }

  @Test
  void rejectsHeadsThatDoNotDivide() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new TransformerConfig("gpt2", 8, 10, 1, 3, 1, 4, 1e-5, 50257));
    assertTrue(e.getMessage().contains("not divisible by nHeads = 3"), e.getMessage());
  }

  @Test
  void rejectsNonPositiveSizesAndUnknownEncodings() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new TransformerConfig("gpt2", 8, 0, 1, 1, 1, 4, 1e-5, 50257));
    assertTrue(e.getMessage().contains("dModel must be positive, got 0"), e.getMessage());
    IllegalArgumentException enc =
        assertThrows(
            IllegalArgumentException.class,
            () -> TransformerConfig.fromOriginalJson("{\"enc\": \"cl100k_base\"}"));
    assertTrue(enc.getMessage().contains("unknown encoding 'cl100k_base'"), enc.getMessage());
    IllegalArgumentException notInt =
        assertThrows(
            IllegalArgumentException.class,
            () -> TransformerConfig.fromOriginalJson("{\"d_model\": 6.5}"));
    assertTrue(notInt.getMessage().contains("'d_model' must be an integer"), notInt.getMessage());
  }
}
