package io.github.neuronexplainer.explanations.data;

import java.util.Objects;

/**
 * Where per-neuron files live: a template with {@code {layer}} and {@code {index}} placeholders,
 * either a local path or an {@code http(s)} URL. The presets follow the original's code ({@code
 * datasets.md} and the code disagree for latents; pass your own template if your copy differs).
 * Immutable.
 *
 * @param template e.g. {@code /data/acts/{layer}/{index}.json}
 */
public record DatasetLocation(String template) {
  /** Base of the original's public bucket. */
  public static final String PUBLIC_BASE =
      "https://openaipublic.blob.core.windows.net/neuron-explainer/";

  /** GPT-2 small MLP neurons (layers 0–11, neurons 0–3071). */
  public static final DatasetLocation GPT2_SMALL_NEURONS =
      new DatasetLocation(
          PUBLIC_BASE + "gpt2_small_data/collated-activations/{layer}/{index}.json");

  /** GPT-2 small attention heads by token pair (flattened lower triangle). */
  public static final DatasetLocation GPT2_SMALL_ATTENTION_HEADS =
      new DatasetLocation(
          PUBLIC_BASE
              + "gpt2_small/attn_write_norm/collated-activations-by-token-pair/{layer}/{index}.json");

  /** GPT-2 XL MLP neurons (layers 0–47, neurons 0–6399). */
  public static final DatasetLocation GPT2_XL_NEURONS =
      new DatasetLocation(PUBLIC_BASE + "data/collated-activations/{layer}/{index}.json");

  /** GPT-2 XL explanations (one NeuronSimulationResults line per file). */
  public static final DatasetLocation GPT2_XL_EXPLANATIONS =
      new DatasetLocation(PUBLIC_BASE + "data/explanations/{layer}/{index}.jsonl");

  /** GPT-2 small explanations. */
  public static final DatasetLocation GPT2_SMALL_EXPLANATIONS =
      new DatasetLocation(PUBLIC_BASE + "gpt2_small_data/explanations/{layer}/{index}.jsonl");

  public DatasetLocation {
    Objects.requireNonNull(template, "template");
    if (!template.contains("{layer}") || !template.contains("{index}")) {
      throw new IllegalArgumentException(
          "A dataset template needs {layer} and {index} placeholders: " + template);
    }
  }

  /**
   * GPT-2 small autoencoder latents as the original's activation-server registry names them, e.g.
   * {@code mlp_post_act_v4}, {@code resid_delta_attn_v4}; {@code byTokenPair} for attention
   * latents.
   */
  public static DatasetLocation gpt2SmallLatents(String variant, boolean byTokenPair) {
    return new DatasetLocation(
        PUBLIC_BASE
            + "gpt2_small/autoencoder_latent/"
            + variant
            + "/collated-activations"
            + (byTokenPair ? "-by-token-pair" : "")
            + "/{layer}/{index}.json");
  }

  /** A local folder laid out as {@code <folder>/<layer>/<index>.<extension>}. */
  public static DatasetLocation localFolder(java.nio.file.Path folder, String extension) {
    return new DatasetLocation(folder.toString() + "/{layer}/{index}." + extension);
  }

  /** The location of one neuron's file. */
  public String resolve(int layer, int index) {
    return template
        .replace("{layer}", Integer.toString(layer))
        .replace("{index}", Integer.toString(index));
  }

  /** Whether the template is a URL. */
  public boolean isRemote() {
    return template.startsWith("https://") || template.startsWith("http://");
  }
}
