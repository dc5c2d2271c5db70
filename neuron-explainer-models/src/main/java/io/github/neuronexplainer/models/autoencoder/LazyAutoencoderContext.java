package io.github.neuronexplainer.models.autoencoder;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.models.Devices;
import io.github.neuronexplainer.models.weights.DownloadProgress;
import io.github.neuronexplainer.models.weights.HttpSource;
import io.github.neuronexplainer.models.weights.WeightCache;
import io.github.neuronexplainer.models.weights.WeightFetchException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original's {@code AutoencoderContext}: one autoencoder per layer, loaded on first use and
 * cached by path (layers that share a file share the autoencoder). URLs are downloaded once into
 * the disk cache ({@link WeightCache#defaultDir()} unless {@link Builder#cacheDir} says otherwise,
 * at {@code <cache>/<host>/<url path>}); later loads read the cached file without network access.
 *
 * <p>{@link #warmup()} loads every layer; with {@link Builder#omitDeadLatents} it then applies the
 * original's rule: a latent is dead when its {@code latents_activation_frequency} is below {@value
 * #DEAD_LATENT_FREQUENCY_THRESHOLD}; an autoencoder whose frequencies are all zero is refused; the
 * smallest number of dead latents over all autoencoders, {@code d}, is dropped from every
 * autoencoder by keeping its first {@code nLatents − d} latents (the original's {@code
 * preserve_indices=True}), so latent indices keep their meaning.
 *
 * <p>Memory: every autoencoder lives in its own sub-manager of the manager given to {@link
 * Builder#build}; {@link #close()} frees all of them.
 *
 * <p>Thread-safety: safe for concurrent use; loading is serialised on this object. Call {@link
 * #warmup()} with {@code omitDeadLatents} before sharing the context, because it replaces (and
 * frees) the autoencoders loaded before it.
 */
public final class LazyAutoencoderContext implements AutoencoderContext, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LazyAutoencoderContext.class);

  /** The original's {@code ACTIVATION_FREQUENCY_THRESHOLD_FOR_DEAD_LATENTS}. */
  public static final double DEAD_LATENT_FREQUENCY_THRESHOLD = 1e-8;

  private final AutoencoderConfig config;
  private final boolean omitDeadLatents;
  private final Path baseDir;
  private final Path cacheDir;
  private final DownloadProgress progress;
  private final NDManager manager;
  private final Map<String, Autoencoder> byPath = new LinkedHashMap<>();
  private boolean closed;

  private LazyAutoencoderContext(Builder b, NDManager parent) {
    this.config = b.config;
    this.omitDeadLatents = b.omitDeadLatents;
    this.baseDir = b.baseDir;
    this.cacheDir = b.cacheDir;
    this.progress = b.progress;
    this.manager = parent.newSubManager(b.device);
  }

  public static Builder builder(AutoencoderConfig config) {
    return new Builder(config);
  }

  /** A context over local files or URLs with default settings. */
  public static LazyAutoencoderContext of(AutoencoderConfig config, NDManager parent) {
    return builder(config).build(parent);
  }

  public AutoencoderConfig config() {
    return config;
  }

  public boolean omitsDeadLatents() {
    return omitDeadLatents;
  }

  @Override
  public ActivationLocationType inputLocation() {
    return config.inputLocation();
  }

  @Override
  public NodeType nodeType() {
    return config.nodeType();
  }

  @Override
  public List<Integer> layers() {
    return List.copyOf(config.pathByLayer().keySet());
  }

  /**
   * The autoencoder of {@code layer}, loaded (and downloaded) on first use. The instance belongs to
   * this context: don't close it.
   *
   * @throws IllegalArgumentException if the config has no path for {@code layer}
   * @throws io.github.neuronexplainer.models.weights.WeightFormatException if the file is not an
   *     autoencoder
   * @throws WeightFetchException if it cannot be downloaded
   */
  @Override
  public synchronized Autoencoder autoencoder(int layer) {
    checkOpen();
    String path = config.pathByLayer().get(layer);
    if (path == null) {
      throw new IllegalArgumentException(
          "No autoencoder path for layer " + layer + "; configured layers: " + layers());
    }
    Autoencoder ae = byPath.get(path);
    if (ae == null) {
      Path file = localFile(path);
      LOG.info("Loading autoencoder for {} layer {} from {}", config.inputLocation(), layer, file);
      ae = Autoencoder.load(file, manager);
      byPath.put(path, ae);
    }
    return ae;
  }

  /**
   * Loads every layer's autoencoder and, with {@code omitDeadLatents}, drops the dead latents as
   * described in the class comment.
   *
   * @throws IllegalStateException if an autoencoder has all activation frequencies zero
   */
  public synchronized void warmup() {
    for (int layer : layers()) {
      autoencoder(layer);
    }
    if (!omitDeadLatents) {
      return;
    }
    int minDead = Integer.MAX_VALUE;
    for (Map.Entry<String, Autoencoder> e : byPath.entrySet()) {
      minDead = Math.min(minDead, countDeadLatents(e.getValue(), e.getKey()));
    }
    if (minDead == 0) {
      return;
    }
    int keep = numLoadedDirections() - minDead;
    LOG.info("Omitting {} dead latents from all {} autoencoders", minDead, config.inputLocation());
    for (Map.Entry<String, Autoencoder> e : new ArrayList<>(byPath.entrySet())) {
      Autoencoder old = e.getValue();
      Autoencoder trimmed = old.keepFirstLatents(keep, manager);
      if (trimmed != old) {
        byPath.put(e.getKey(), trimmed);
        old.close();
      }
    }
  }

  /**
   * Latents per autoencoder. As in the original, with {@code omitDeadLatents} this is only known
   * after {@link #warmup()} (it throws before); without it, the first layer's autoencoder is loaded
   * if none is yet.
   *
   * @throws IllegalStateException with {@code omitDeadLatents} before {@link #warmup()}
   */
  @Override
  public synchronized int numAutoencoderDirections() {
    if (byPath.isEmpty()) {
      if (omitDeadLatents) {
        throw new IllegalStateException(
            "numAutoencoderDirections is not known yet with omitDeadLatents: call warmup() first");
      }
      autoencoder(layers().get(0));
    }
    return numLoadedDirections();
  }

  private int numLoadedDirections() {
    return byPath.values().iterator().next().nLatents();
  }

  /** The original's {@code count_dead_latents}. */
  static int countDeadLatents(Autoencoder ae, String what) {
    float[] frequency = ae.latentsActivationFrequency();
    int dead = 0;
    boolean allZero = true;
    for (float f : frequency) {
      allZero &= f == 0f;
      if (f < DEAD_LATENT_FREQUENCY_THRESHOLD) {
        dead++;
      }
    }
    if (allZero) {
      throw new IllegalStateException(
          what
              + ": latents_activation_frequency is all zeros, all latents are dead;"
              + " load it without omitDeadLatents or check the file");
    }
    return dead;
  }

  private Path localFile(String path) {
    if (path.startsWith("http://") || path.startsWith("https://")) {
      URI url = URI.create(path);
      String p = url.getRawPath();
      int slash = p.lastIndexOf('/');
      if (slash < 0 || slash == p.length() - 1) {
        throw new IllegalArgumentException("Autoencoder URL must name a file: " + path);
      }
      URI folder = url.resolve(p.substring(0, slash + 1));
      return new HttpSource(folder, cacheDir).fetch(p.substring(slash + 1), progress);
    }
    Path file = baseDir.resolve(path);
    if (!Files.isRegularFile(file)) {
      throw new WeightFetchException(
          "No autoencoder file at "
              + file.toAbsolutePath()
              + "; check the path in the config (relative paths are resolved against "
              + baseDir.toAbsolutePath()
              + ")");
    }
    return file;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("This autoencoder context is closed");
    }
  }

  /** Frees every autoencoder this context loaded. */
  @Override
  public synchronized void close() {
    closed = true;
    byPath.clear();
    manager.close();
  }

  @Override
  public String toString() {
    return "LazyAutoencoderContext[" + config.inputLocation() + ", layers " + layers() + "]";
  }

  /** Settings of a {@link LazyAutoencoderContext}; not thread-safe. */
  public static final class Builder {
    private final AutoencoderConfig config;
    private boolean omitDeadLatents;
    private Path baseDir = Path.of("");
    private Path cacheDir = WeightCache.defaultDir();
    private DownloadProgress progress = DownloadProgress.none();
    private Device device = Device.cpu();

    private Builder(AutoencoderConfig config) {
      this.config = Objects.requireNonNull(config, "config");
    }

    /** Drop dead latents in {@link #warmup()} (the original's {@code omit_dead_latents}). */
    public Builder omitDeadLatents(boolean omit) {
      this.omitDeadLatents = omit;
      return this;
    }

    /** Folder that relative paths are resolved against (default: the working directory). */
    public Builder baseDir(Path dir) {
      this.baseDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** Disk cache for downloaded autoencoders (default {@link WeightCache#defaultDir()}). */
    public Builder cacheDir(Path dir) {
      this.cacheDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    public Builder progress(DownloadProgress progress) {
      this.progress = Objects.requireNonNull(progress, "progress");
      return this;
    }

    /**
     * The device the autoencoders load on (default {@link Device#cpu()}); it should be the model's.
     *
     * @throws IllegalArgumentException if the device is not available (see {@link
     *     Devices#requireAvailable})
     */
    public Builder device(Device device) {
      this.device = Devices.requireAvailable(device);
      return this;
    }

    /** The context; its autoencoders will live in sub-managers of {@code parent}. */
    public LazyAutoencoderContext build(NDManager parent) {
      return new LazyAutoencoderContext(this, parent);
    }
  }
}
