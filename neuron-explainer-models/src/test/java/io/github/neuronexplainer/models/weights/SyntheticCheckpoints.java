package io.github.neuronexplainer.models.weights;

import io.github.neuronexplainer.models.TransformerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/** Test helper: small random GPT-2 checkpoints in both layouts. */
final class SyntheticCheckpoints {
  /** d_model 8, 1 layer, 2 heads, ctx 4, vocab 10, d_ff 32. */
  static final String HF_CONFIG =
      "{\"model_type\": \"gpt2\", \"n_embd\": 8, \"n_layer\": 1,"
          + " \"n_head\": 2, \"n_positions\": 4, \"vocab_size\": 10, \"n_inner\": null,"
          + " \"activation_function\": \"gelu_new\", \"layer_norm_epsilon\": 1e-05}";

  private SyntheticCheckpoints() {}

  static TransformerConfig hfConfig() {
    return TransformerConfig.fromHuggingFaceJson(HF_CONFIG);
  }

  /** A HuggingFace-style state dict (Conv1D [in, out], fused c_attn, mask buffer, no lm_head). */
  static Map<String, HostTensor> hfTensors(long seed, String prefix) {
    Random random = new Random(seed);
    Map<String, HostTensor> t = new LinkedHashMap<>();
    t.put(prefix + "wte.weight", random(random, 10, 8));
    t.put(prefix + "wpe.weight", random(random, 4, 8));
    t.put(prefix + "h.0.ln_1.weight", random(random, 8));
    t.put(prefix + "h.0.ln_1.bias", random(random, 8));
    t.put(prefix + "h.0.attn.bias", random(random, 1, 1, 4, 4));
    t.put(prefix + "h.0.attn.c_attn.weight", random(random, 8, 24));
    t.put(prefix + "h.0.attn.c_attn.bias", random(random, 24));
    t.put(prefix + "h.0.attn.c_proj.weight", random(random, 8, 8));
    t.put(prefix + "h.0.attn.c_proj.bias", random(random, 8));
    t.put(prefix + "h.0.ln_2.weight", random(random, 8));
    t.put(prefix + "h.0.ln_2.bias", random(random, 8));
    t.put(prefix + "h.0.mlp.c_fc.weight", random(random, 8, 32));
    t.put(prefix + "h.0.mlp.c_fc.bias", random(random, 32));
    t.put(prefix + "h.0.mlp.c_proj.weight", random(random, 32, 8));
    t.put(prefix + "h.0.mlp.c_proj.bias", random(random, 8));
    t.put(prefix + "ln_f.weight", random(random, 8));
    t.put(prefix + "ln_f.bias", random(random, 8));
    return t;
  }

  /** Writes {@code config.json} + {@code model.safetensors} into {@code folder}. */
  static Path writeHf(Path folder, Map<String, HostTensor> tensors) throws IOException {
    Files.createDirectories(folder);
    Files.writeString(folder.resolve("config.json"), HF_CONFIG);
    SafetensorsFile.write(folder.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
    return folder;
  }

  /** Writes the original layout (config.json + model_pieces/*.pt) of {@code checkpoint}. */
  static Path writeOriginal(Path folder, TransformerConfig config, Map<String, HostTensor> tensors)
      throws IOException {
    Files.createDirectories(folder.resolve("model_pieces"));
    Files.writeString(folder.resolve("config.json"), config.toOriginalJson());
    for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
      TorchZipWriter.writeBareTensor(
          folder.resolve("model_pieces/" + e.getKey() + ".pt"), e.getValue());
    }
    return folder;
  }

  static HostTensor random(Random random, long... shape) {
    float[] values = new float[(int) HostTensor.numelOf(shape)];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return HostTensor.ofFloats(values, shape);
  }
}
