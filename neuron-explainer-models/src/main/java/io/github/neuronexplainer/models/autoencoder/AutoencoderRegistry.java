package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * OpenAI's released sparse autoencoders for GPT-2 small (the original's {@code
 * _AUTOENCODER_SPECS["gpt2-small"]}): one {@code .pt} state dict per layer at {@code
 * <base>/<input><version>/autoencoders/<layer>.pt} with base {@value #DEFAULT_BASE_URL}. Sizes from
 * the original's {@code models/README.md} and {@code datasets.md}: 32768 latents, except the
 * attention autoencoders ({@code ae-resid-delta-attn-v4}), whose collated datasets cover 10240.
 *
 * <p>The base URL can be changed with the system property {@value #BASE_URL_PROPERTY} (a mirror);
 * files are downloaded once into the disk cache by {@link LazyAutoencoderContext}.
 *
 * <p>Immutable and thread-safe.
 */
public final class AutoencoderRegistry {
  /** Where OpenAI publishes the autoencoders. */
  public static final String DEFAULT_BASE_URL =
      "https://openaipublic.blob.core.windows.net/sparse-autoencoder/gpt2-small/";

  /** System property overriding {@link #DEFAULT_BASE_URL}. */
  public static final String BASE_URL_PROPERTY = "neuronexplainer.sae.baseUrl";

  /**
   * One released family.
   *
   * @param name the original's name, e.g. {@code ae-mlp-post-act-v4}
   * @param inputLocation the activation it reads
   * @param folder the folder under the base URL, e.g. {@code mlp_post_act_v4}
   * @param nLayers layers of GPT-2 small (one autoencoder each)
   * @param nInputs width of the input activation
   * @param nLatents latents per autoencoder
   */
  public record Entry(
      String name,
      ActivationLocationType inputLocation,
      String folder,
      int nLayers,
      int nInputs,
      int nLatents) {
    /** The URL of layer {@code layer}'s state dict under {@code baseUrl}. */
    public String url(String baseUrl, int layer) {
      if (layer < 0 || layer >= nLayers) {
        throw new IllegalArgumentException(
            name + " has layers 0.." + (nLayers - 1) + ", not " + layer);
      }
      String base = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
      return base + folder + "/autoencoders/" + layer + ".pt";
    }
  }

  private static final int GPT2_SMALL_LAYERS = 12;
  private static final int D_MODEL = 768;
  private static final int D_FF = 3072;

  private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

  static {
    add("ae-mlp-post-act-v1", ActivationLocationType.MLP_POST_ACT, "mlp_post_act", D_FF, 32768);
    add(
        "ae-resid-delta-mlp-v1",
        ActivationLocationType.RESID_DELTA_MLP,
        "resid_delta_mlp",
        D_MODEL,
        32768);
    add("ae-mlp-post-act-v4", ActivationLocationType.MLP_POST_ACT, "mlp_post_act_v4", D_FF, 32768);
    add(
        "ae-resid-delta-mlp-v4",
        ActivationLocationType.RESID_DELTA_MLP,
        "resid_delta_mlp_v4",
        D_MODEL,
        32768);
    add(
        "ae-resid-delta-attn-v4",
        ActivationLocationType.RESID_DELTA_ATTN,
        "resid_delta_attn_v4",
        D_MODEL,
        10240);
  }

  private static void add(
      String name, ActivationLocationType input, String folder, int nInputs, int nLatents) {
    ENTRIES.put(name, new Entry(name, input, folder, GPT2_SMALL_LAYERS, nInputs, nLatents));
  }

  private AutoencoderRegistry() {}

  /** The names, in the original's order. */
  public static List<String> names() {
    return List.copyOf(ENTRIES.keySet());
  }

  /**
   * The family named {@code name}.
   *
   * @throws IllegalArgumentException naming the known families
   */
  public static Entry entry(String name) {
    Entry e = ENTRIES.get(name);
    if (e == null) {
      throw new IllegalArgumentException(
          "Unknown autoencoder '" + name + "' for gpt2-small; known: " + names());
    }
    return e;
  }

  /** The base URL: the system property {@value #BASE_URL_PROPERTY}, else the default. */
  public static String baseUrl() {
    String p = System.getProperty(BASE_URL_PROPERTY);
    return p == null || p.isBlank() ? DEFAULT_BASE_URL : p;
  }

  /** The config of {@code name}: its input and the URL of every layer. */
  public static AutoencoderConfig config(String name) {
    Entry e = entry(name);
    Map<Integer, String> paths = new LinkedHashMap<>();
    for (int layer = 0; layer < e.nLayers(); layer++) {
      paths.put(layer, e.url(baseUrl(), layer));
    }
    return new AutoencoderConfig(e.inputLocation(), paths);
  }

  /**
   * A lazily loading context over {@code name} (the original's {@code make_autoencoder_context}),
   * downloading into the default disk cache.
   */
  public static LazyAutoencoderContext context(
      String name, boolean omitDeadLatents, NDManager parent) {
    return LazyAutoencoderContext.builder(config(name))
        .omitDeadLatents(omitDeadLatents)
        .build(parent);
  }
}
