package io.github.neuronexplainer.models.weights;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves a model name, local folder or URL to a {@link WeightSource} and loads the checkpoint.
 *
 * <p>Known names ({@code gpt2-small}, {@code gpt2-medium}, {@code gpt2-large}, {@code gpt2-xl}) are
 * fetched from the HuggingFace hub ({@code <hub>/<repo>/resolve/main/}, safetensors layout) into
 * the cache; if that fails, from the original's blob storage ({@code <blob>/gpt2/<size>},
 * model-pieces layout, as {@code Transformer.load} does). A model already cached from either source
 * is loaded from the cache without network access. Both base URLs and the cache folder can be
 * changed with {@link #builder()} or the system properties {@value #HF_BASE_URL_PROPERTY}, {@value
 * #OPENAI_BASE_URL_PROPERTY} and {@link WeightCache#CACHE_DIR_PROPERTY}.
 *
 * <p>Thread-safety: immutable, safe for concurrent use.
 */
public final class ModelRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(ModelRegistry.class);

  /** System property overriding the HuggingFace hub base URL. */
  public static final String HF_BASE_URL_PROPERTY = "neuronexplainer.hf.baseUrl";

  /** System property overriding the original's blob-storage base URL. */
  public static final String OPENAI_BASE_URL_PROPERTY = "neuronexplainer.openai.baseUrl";

  public static final URI DEFAULT_HF_BASE_URL = URI.create("https://huggingface.co/");
  public static final URI DEFAULT_OPENAI_BASE_URL =
      URI.create("https://openaipublic.blob.core.windows.net/neuron-explainer/subject-models/");

  private static final String CONFIG_FILE = "config.json";
  private static final Map<String, String> HF_REPOS = new LinkedHashMap<>();

  static {
    HF_REPOS.put("gpt2-small", "gpt2");
    HF_REPOS.put("gpt2-medium", "gpt2-medium");
    HF_REPOS.put("gpt2-large", "gpt2-large");
    HF_REPOS.put("gpt2-xl", "gpt2-xl");
  }

  private final URI huggingFaceBaseUrl;
  private final URI openAiBaseUrl;
  private final Path cacheDir;

  private ModelRegistry(URI huggingFaceBaseUrl, URI openAiBaseUrl, Path cacheDir) {
    this.huggingFaceBaseUrl = withTrailingSlash(huggingFaceBaseUrl);
    this.openAiBaseUrl = withTrailingSlash(openAiBaseUrl);
    this.cacheDir = cacheDir;
  }

  /** The registry configured from system properties (or the defaults) at call time. */
  public static ModelRegistry fromSystemProperties() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The model names this registry knows. */
  public static Set<String> knownModels() {
    return HF_REPOS.keySet();
  }

  /** Loads with {@link #fromSystemProperties()}; see {@link #loadCheckpoint}. */
  public static Gpt2Checkpoint load(String nameOrPathOrUrl) {
    return fromSystemProperties().loadCheckpoint(nameOrPathOrUrl, DownloadProgress.none());
  }

  /** Loads with {@link #fromSystemProperties()}; see {@link #loadCheckpoint}. */
  public static Gpt2Checkpoint load(String nameOrPathOrUrl, DownloadProgress progress) {
    return fromSystemProperties().loadCheckpoint(nameOrPathOrUrl, progress);
  }

  /**
   * Loads a checkpoint: a known model name from the hub (falling back to the original's blob
   * storage), an existing local folder directly, or an http(s) URL through the cache.
   *
   * @throws IllegalArgumentException if the argument is none of these (the message lists the known
   *     names)
   * @throws WeightFetchException if downloading fails (for a known name: from both sources)
   */
  public Gpt2Checkpoint loadCheckpoint(String nameOrPathOrUrl, DownloadProgress progress) {
    Objects.requireNonNull(nameOrPathOrUrl, "nameOrPathOrUrl");
    if (!HF_REPOS.containsKey(nameOrPathOrUrl)) {
      return Gpt2Checkpoint.load(sourceFor(nameOrPathOrUrl), progress);
    }
    HttpSource hub = huggingFaceSource(nameOrPathOrUrl);
    HttpSource blob = openAiSource(nameOrPathOrUrl);
    if (!hub.isCached(CONFIG_FILE) && blob.isCached(CONFIG_FILE)) {
      return Gpt2Checkpoint.load(blob, progress); // downloaded from there before
    }
    try {
      return Gpt2Checkpoint.load(hub, progress);
    } catch (WeightFetchException hubFailure) {
      LOG.warn(
          "could not load {} from {} ({}); trying {}",
          nameOrPathOrUrl,
          hub,
          hubFailure.getMessage(),
          blob);
      try {
        return Gpt2Checkpoint.load(blob, progress);
      } catch (WeightFetchException blobFailure) {
        blobFailure.addSuppressed(hubFailure);
        throw blobFailure;
      }
    }
  }

  /**
   * The source for a name (its HuggingFace source), an existing folder, or an http(s) URL.
   *
   * @throws IllegalArgumentException for anything else
   */
  public WeightSource sourceFor(String nameOrPathOrUrl) {
    if (HF_REPOS.containsKey(nameOrPathOrUrl)) {
      return huggingFaceSource(nameOrPathOrUrl);
    }
    if (isDirectory(nameOrPathOrUrl)) {
      return new LocalFolderSource(Path.of(nameOrPathOrUrl));
    }
    String lower = nameOrPathOrUrl.toLowerCase(java.util.Locale.ROOT);
    if (lower.startsWith("https://") || lower.startsWith("http://")) {
      return new HttpSource(URI.create(nameOrPathOrUrl), cacheDir);
    }
    throw new IllegalArgumentException(
        "unknown model '"
            + nameOrPathOrUrl
            + "': use one of "
            + knownModels()
            + ", an existing checkpoint folder, or an http(s) URL of one");
  }

  /** The HuggingFace hub source of a known model. */
  public HttpSource huggingFaceSource(String name) {
    return new HttpSource(huggingFaceBaseUrl.resolve(repoOf(name) + "/resolve/main/"), cacheDir);
  }

  /** The original's blob-storage source of a known model (e.g. {@code .../gpt2/small/}). */
  public HttpSource openAiSource(String name) {
    repoOf(name);
    return new HttpSource(openAiBaseUrl.resolve(name.replace('-', '/') + "/"), cacheDir);
  }

  public URI huggingFaceBaseUrl() {
    return huggingFaceBaseUrl;
  }

  public URI openAiBaseUrl() {
    return openAiBaseUrl;
  }

  public Path cacheDir() {
    return cacheDir;
  }

  private static String repoOf(String name) {
    String repo = HF_REPOS.get(name);
    if (repo == null) {
      throw new IllegalArgumentException(
          "unknown model '" + name + "': use one of " + knownModels());
    }
    return repo;
  }

  private static boolean isDirectory(String candidate) {
    try {
      return Files.isDirectory(Path.of(candidate));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  private static URI withTrailingSlash(URI uri) {
    String text = uri.toString();
    return text.endsWith("/") ? uri : URI.create(text + "/");
  }

  /**
   * Builds a registry; unset values come from the system properties, else the defaults.
   *
   * <p>Thread-safety: not thread-safe; use from one thread.
   */
  public static final class Builder {
    private URI huggingFaceBaseUrl;
    private URI openAiBaseUrl;
    private Path cacheDir;

    private Builder() {}

    public Builder huggingFaceBaseUrl(URI url) {
      this.huggingFaceBaseUrl = Objects.requireNonNull(url);
      return this;
    }

    public Builder openAiBaseUrl(URI url) {
      this.openAiBaseUrl = Objects.requireNonNull(url);
      return this;
    }

    public Builder cacheDir(Path dir) {
      this.cacheDir = Objects.requireNonNull(dir);
      return this;
    }

    public ModelRegistry build() {
      return new ModelRegistry(
          huggingFaceBaseUrl != null
              ? huggingFaceBaseUrl
              : propertyUri(HF_BASE_URL_PROPERTY, DEFAULT_HF_BASE_URL),
          openAiBaseUrl != null
              ? openAiBaseUrl
              : propertyUri(OPENAI_BASE_URL_PROPERTY, DEFAULT_OPENAI_BASE_URL),
          cacheDir != null ? cacheDir : WeightCache.defaultDir());
    }

    private static URI propertyUri(String property, URI fallback) {
      String value = System.getProperty(property);
      return value == null || value.isBlank() ? fallback : URI.create(value.strip());
    }
  }
}
