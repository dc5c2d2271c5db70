package io.github.neuronexplainer.models.autoencoder;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import io.github.neuronexplainer.models.weights.TorchPickleReader;
import io.github.neuronexplainer.models.weights.WeightFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The original's sparse autoencoder ({@code neuron_explainer/models/autoencoder.py}):
 *
 * <pre>
 *   latents = activation(encoder(x − pre_bias) + latent_bias)
 *   recons  = decoder(latents) + pre_bias
 * </pre>
 *
 * with {@code encoder.weight} {@code [nLatents, nInputs]} and {@code decoder.weight} {@code
 * [nInputs, nLatents]} ({@code nn.Linear} layouts, no biases), the activation ReLU, Identity or
 * TopK ({@link LatentActivation}), and the buffers {@code stats_last_nonzero} (int64), {@code
 * latents_activation_frequency} and {@code latents_mean_square}.
 *
 * <p>Load one with {@link #load(Path, NDManager)} from the original's {@code
 * torch.save(state_dict)} {@code .pt} files (read with the restricted {@link TorchPickleReader}, no
 * Python code runs) or from a safetensors twin whose {@code __metadata__} holds {@code activation}
 * and {@code activation_state_dict} (JSON).
 *
 * <p>Memory: the weights live in a sub-manager of the manager given at construction, owned by this
 * object; {@link #close()} frees them. Results of {@link #encode} etc. are attached to the manager
 * of their input, so per-call intermediates stay in the caller's managers.
 *
 * <p>Thread-safety: the weights are immutable, so encoding and decoding may run concurrently on
 * several threads (each with its own input managers). {@link #forward} also updates {@code
 * stats_last_nonzero} under this object's lock. Do not call {@link #close()} while other threads
 * use the autoencoder.
 */
public final class Autoencoder implements SparseAutoencoder, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Autoencoder.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final NDManager manager;
  private final NDArray preBias;
  private final NDArray encoder;
  private final NDArray encoderT;
  private final NDArray latentBias;
  private final NDArray decoder;
  private final NDArray decoderT;
  private final LatentActivation activation;
  private final int nInputs;
  private final int nLatents;
  private final long[] statsLastNonzero;
  private final float[] latentsActivationFrequency;
  private final float[] latentsMeanSquare;

  /**
   * What {@link #forward} returns: pre-activations, latents and reconstruction (immutable). {@link
   * #toString()} prints the shapes, not the values.
   */
  public record ForwardResult(
      NDArray latentsPreActivation, NDArray latents, NDArray reconstruction) {
    @Override
    public String toString() {
      return "ForwardResult[latentsPreActivation "
          + latentsPreActivation.getShape()
          + ", latents "
          + latents.getShape()
          + ", reconstruction "
          + reconstruction.getShape()
          + "]";
    }
  }

  private Autoencoder(
      NDManager manager,
      NDArray preBias,
      NDArray encoder,
      NDArray latentBias,
      NDArray decoder,
      LatentActivation activation,
      long[] statsLastNonzero,
      float[] latentsActivationFrequency,
      float[] latentsMeanSquare) {
    this.manager = manager;
    this.preBias = preBias;
    this.encoder = encoder;
    this.latentBias = latentBias;
    this.decoder = decoder;
    this.encoderT = encoder.transpose();
    this.decoderT = decoder.transpose();
    this.activation = activation;
    this.nLatents = Math.toIntExact(encoder.getShape().get(0));
    this.nInputs = Math.toIntExact(encoder.getShape().get(1));
    this.statsLastNonzero = statsLastNonzero;
    this.latentsActivationFrequency = latentsActivationFrequency;
    this.latentsMeanSquare = latentsMeanSquare;
    // Loaded lazily, an autoencoder may be built inside a caller's NDScope (a derived scalar's):
    // its weights are its own, so that scope must not close them.
    NDScope.unregister(preBias, encoder, encoderT, latentBias, decoder, decoderT);
  }

  // ---------------------------------------------------------------------------------------------
  // Construction and loading.

  /**
   * An autoencoder from weights given as arrays (copied into memory owned by the new autoencoder, a
   * sub-manager of {@code parent}), with the original's initial buffers: {@code stats_last_nonzero}
   * 0, {@code latents_activation_frequency} 1, {@code latents_mean_square} 0.
   *
   * @throws WeightFormatException if the shapes are not {@code preBias [n]}, {@code encoder [m,
   *     n]}, {@code latentBias [m]}, {@code decoder [n, m]}
   * @throws IllegalArgumentException if an array is not floating point
   */
  public static Autoencoder of(
      NDArray preBias,
      NDArray encoder,
      NDArray latentBias,
      NDArray decoder,
      LatentActivation activation,
      NDManager parent) {
    Objects.requireNonNull(activation, "activation");
    checkShapes(
        encoder.getShape().getShape(),
        decoder.getShape().getShape(),
        preBias.getShape().getShape(),
        latentBias.getShape().getShape(),
        "arrays");
    int n = Math.toIntExact(encoder.getShape().get(0));
    NDManager own = parent.newSubManager();
    try {
      return new Autoencoder(
          own,
          float32Copy(preBias, own),
          float32Copy(encoder, own),
          float32Copy(latentBias, own),
          float32Copy(decoder, own),
          activation,
          new long[n],
          filled(n, 1f),
          new float[n]);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
  }

  /**
   * Loads {@code file}: a {@code .pt} ({@code torch.save} of the original's state dict) or a {@code
   * .safetensors} file (the tensors, with {@code activation} and {@code activation_state_dict} in
   * the metadata; a missing activation means ReLU, as in the original).
   *
   * @throws WeightFormatException if the file is not an autoencoder state dict, has inconsistent
   *     shapes or an unknown activation (the message names the file and the problem)
   */
  public static Autoencoder load(Path file, NDManager parent) {
    String name = file.getFileName().toString();
    Map<String, Object> stateDict;
    if (name.endsWith(".safetensors")) {
      SafetensorsFile.TensorFile tf = SafetensorsFile.read(file);
      stateDict = new LinkedHashMap<>(tf.tensors());
      String act = tf.metadata().get("activation");
      if (act != null) {
        stateDict.put("activation", act);
      }
      String actState = tf.metadata().get("activation_state_dict");
      if (actState != null) {
        stateDict.put("activation_state_dict", parseJsonMap(actState, file));
      }
    } else {
      Object root = TorchPickleReader.read(file);
      if (!(root instanceof Map<?, ?> map)) {
        throw new WeightFormatException(
            file
                + " holds "
                + (root instanceof HostTensor ? "a single tensor" : describe(root))
                + ", not an autoencoder state dict; expected torch.save(autoencoder.state_dict())"
                + " with encoder.weight, decoder.weight, pre_bias and latent_bias");
      }
      stateDict = new LinkedHashMap<>();
      map.forEach((k, v) -> stateDict.put(String.valueOf(k), v));
    }
    return fromStateDict(stateDict, file.toString(), parent);
  }

  /**
   * The original's {@code Autoencoder.from_state_dict(state_dict, strict=False)}: reads {@code
   * activation} / {@code activation_state_dict}, then the four weights and (when present) the
   * buffers. Entries of the activation module itself ({@code activation.k}, ...) are ignored, as
   * with {@code strict=False}; the four weights are required, because the original would silently
   * keep a random or zero initialisation for a missing one.
   *
   * @param stateDict tensors as {@link HostTensor}, {@code activation} a String, {@code
   *     activation_state_dict} a Map
   * @param source names the state dict in error messages
   * @throws WeightFormatException if it is not an autoencoder state dict or shapes disagree
   */
  public static Autoencoder fromStateDict(
      Map<String, ?> stateDict, String source, NDManager parent) {
    HostTensor encoder = tensor(stateDict, "encoder.weight", source, true);
    HostTensor decoder = tensor(stateDict, "decoder.weight", source, true);
    HostTensor preBias = tensor(stateDict, "pre_bias", source, true);
    HostTensor latentBias = tensor(stateDict, "latent_bias", source, true);
    checkShapes(encoder.shape(), decoder.shape(), preBias.shape(), latentBias.shape(), source);
    long nLat = encoder.shape()[0];
    HostTensor stats = tensor(stateDict, "stats_last_nonzero", source, false);
    HostTensor frequency = tensor(stateDict, "latents_activation_frequency", source, false);
    HostTensor meanSquare = tensor(stateDict, "latents_mean_square", source, false);
    String[] bufferNames = {
      "stats_last_nonzero", "latents_activation_frequency", "latents_mean_square"
    };
    HostTensor[] buffers = {stats, frequency, meanSquare};
    for (int i = 0; i < buffers.length; i++) {
      if (buffers[i] != null) {
        checkShape(buffers[i], source, bufferNames[i], "[n_latents]", nLat);
      }
    }
    Object actName = stateDict.get("activation");
    if (actName != null && !(actName instanceof String)) {
      throw new WeightFormatException(
          source + ": 'activation' must be a class name string, got " + describe(actName));
    }
    Object actState = stateDict.get("activation_state_dict");
    if (actState != null && !(actState instanceof Map)) {
      throw new WeightFormatException(
          source + ": 'activation_state_dict' must be a dict, got " + describe(actState));
    }
    LatentActivation activation;
    try {
      @SuppressWarnings("unchecked")
      Map<String, ?> actMap = (Map<String, ?>) actState;
      activation = LatentActivation.fromStateDict((String) actName, actMap, source);
    } catch (IllegalArgumentException e) {
      throw new WeightFormatException(e.getMessage(), e);
    }
    for (String key : stateDict.keySet()) {
      if (!KNOWN_KEYS.contains(key)) {
        LOG.debug(
            "{}: ignoring state dict entry '{}' (as the original's strict=False)", source, key);
      }
    }
    int n = Math.toIntExact(nLat);
    long[] statsValues = stats == null ? new long[n] : stats.toLongArray();
    float[] frequencyValues = frequency == null ? filled(n, 1f) : frequency.toFloatArray();
    float[] meanSquareValues = meanSquare == null ? new float[n] : meanSquare.toFloatArray();
    NDManager own = parent.newSubManager();
    try {
      return new Autoencoder(
          own,
          toFloat32(preBias, own),
          toFloat32(encoder, own),
          toFloat32(latentBias, own),
          toFloat32(decoder, own),
          activation,
          statsValues,
          frequencyValues,
          meanSquareValues);
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
  }

  private static final java.util.Set<String> KNOWN_KEYS =
      java.util.Set.of(
          "pre_bias",
          "encoder.weight",
          "latent_bias",
          "decoder.weight",
          "stats_last_nonzero",
          "latents_activation_frequency",
          "latents_mean_square",
          "activation",
          "activation_state_dict");

  // ---------------------------------------------------------------------------------------------
  // The model.

  @Override
  public int nInputs() {
    return nInputs;
  }

  @Override
  public int nLatents() {
    return nLatents;
  }

  /** The latent activation (ReLU, Identity, TopK). */
  public LatentActivation latentActivation() {
    return activation;
  }

  /** {@code encoder(x − pre_bias) + latent_bias} for {@code x [..., nInputs]}. */
  @Override
  public NDArray encodePreActivation(NDArray x) {
    checkInput(x, nInputs, "input");
    return x.sub(preBias).matMul(encoderT).add(latentBias);
  }

  /**
   * The original's {@code encode_pre_act(x, latent_slice=slice(start, end))}: pre-activations of
   * latents {@code start} (inclusive) to {@code end} (exclusive) only, {@code [..., end − start]}.
   */
  public NDArray encodePreActivation(NDArray x, int start, int end) {
    checkInput(x, nInputs, "input");
    if (start < 0 || end > nLatents || start > end) {
      throw new IllegalArgumentException(
          "latent slice [" + start + ", " + end + ") is outside [0, " + nLatents + ")");
    }
    NDManager m = x.getManager();
    try (NDManager views = m.newSubManager()) {
      NDArray w = encoder.get(new NDIndex("{}:{}", start, end));
      NDArray b = latentBias.get(new NDIndex("{}:{}", start, end));
      w.attach(views);
      b.attach(views);
      NDArray wT = w.transpose();
      wT.attach(views);
      NDArray result = x.sub(preBias).matMul(wT).add(b);
      result.attach(m);
      return result;
    }
  }

  /** {@code activation(encodePreActivation(x))}, {@code [..., nLatents]}. */
  @Override
  public NDArray encode(NDArray x) {
    return activation.apply(encodePreActivation(x));
  }

  /** {@code decoder(latents) + pre_bias}, {@code [..., nInputs]}. */
  @Override
  public NDArray decode(NDArray latents) {
    checkInput(latents, nLatents, "latents");
    return latents.matMul(decoderT).add(preBias);
  }

  @Override
  public NDArray activation(NDArray preActivation) {
    return activation.apply(preActivation);
  }

  /**
   * The original's {@code forward}: pre-activations, latents and reconstruction of {@code x [batch,
   * nInputs]} (or {@code [..., nInputs]}, flattened for the statistics), and the update of {@code
   * stats_last_nonzero}: reset to 0 for every latent that is nonzero in any row, then every entry
   * incremented by 1.
   */
  public ForwardResult forward(NDArray x) {
    NDArray pre = encodePreActivation(x);
    NDArray latents = activation.apply(pre);
    NDArray recons = decode(latents);
    boolean[] active =
        latents.reshape(-1, nLatents).abs().max(new int[] {0}).gt(0f).toBooleanArray();
    synchronized (statsLastNonzero) {
      for (int i = 0; i < nLatents; i++) {
        statsLastNonzero[i] = (active[i] ? 0 : statsLastNonzero[i]) + 1;
      }
    }
    return new ForwardResult(pre, latents, recons);
  }

  // ---------------------------------------------------------------------------------------------
  // Weights and buffers.

  @Override
  public NDArray encoderWeight(NDManager manager) {
    return copyTo(encoder, manager);
  }

  @Override
  public NDArray decoderWeight(NDManager manager) {
    return copyTo(decoder, manager);
  }

  @Override
  public NDArray preBias(NDManager manager) {
    return copyTo(preBias, manager);
  }

  @Override
  public NDArray latentBias(NDManager manager) {
    return copyTo(latentBias, manager);
  }

  /**
   * A copy of the buffer {@code stats_last_nonzero}: forward calls since each latent was active.
   */
  public long[] statsLastNonzero() {
    synchronized (statsLastNonzero) {
      return statsLastNonzero.clone();
    }
  }

  /** A copy of the buffer {@code latents_activation_frequency} (from training; 1 if absent). */
  public float[] latentsActivationFrequency() {
    return latentsActivationFrequency.clone();
  }

  /** A copy of the buffer {@code latents_mean_square} (from training; 0 if absent). */
  public float[] latentsMeanSquare() {
    return latentsMeanSquare.clone();
  }

  /**
   * The original's {@code omit_least_active_latents(preserve_indices=True)}: a new autoencoder with
   * only the first {@code n} latents (rows of the encoder, columns of the decoder, entries of the
   * latent bias and buffers), or this one if {@code n >= nLatents()}. Unlike the original, which
   * builds a fresh {@code Autoencoder(n, d)} and so silently resets {@code pre_bias} to zero and
   * the activation to ReLU, the pre-bias and the activation are kept.
   */
  public Autoencoder keepFirstLatents(int n, NDManager parent) {
    if (n < 1) {
      throw new IllegalArgumentException("Must keep at least one latent, got " + n);
    }
    if (n >= nLatents) {
      return this;
    }
    NDIndex first = new NDIndex(":{}", n);
    NDManager own = parent.newSubManager();
    try {
      return new Autoencoder(
          own,
          float32Copy(preBias, own),
          sliceCopy(encoder, first, own),
          sliceCopy(latentBias, first, own),
          sliceCopy(decoder, new NDIndex(":, :{}", n), own),
          activation,
          Arrays.copyOf(statsLastNonzero(), n),
          Arrays.copyOf(latentsActivationFrequency, n),
          Arrays.copyOf(latentsMeanSquare, n));
    } catch (RuntimeException e) {
      own.close();
      throw e;
    }
  }

  /**
   * The original's {@code state_dict()}: the tensors (as host copies), {@code activation} and
   * {@code activation_state_dict}.
   */
  public Map<String, Object> stateDict() {
    Map<String, Object> sd = new LinkedHashMap<>();
    sd.put("pre_bias", toHost(preBias));
    sd.put("encoder.weight", toHost(encoder));
    sd.put("latent_bias", toHost(latentBias));
    sd.put("decoder.weight", toHost(decoder));
    sd.put("stats_last_nonzero", HostTensor.ofLongs(statsLastNonzero(), nLatents));
    sd.put(
        "latents_activation_frequency", HostTensor.ofFloats(latentsActivationFrequency, nLatents));
    sd.put("latents_mean_square", HostTensor.ofFloats(latentsMeanSquare, nLatents));
    sd.put("activation", activation.name());
    sd.put("activation_state_dict", activation.stateDict());
    return sd;
  }

  /**
   * Writes this autoencoder as safetensors, the activation in the metadata ({@code activation},
   * {@code activation_state_dict} as JSON): the format {@link #load} reads.
   */
  public void saveSafetensors(Path file) {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Map.Entry<String, Object> e : stateDict().entrySet()) {
      if (e.getValue() instanceof HostTensor t) {
        tensors.put(e.getKey(), t);
      }
    }
    metadata.put("activation", activation.name());
    try {
      metadata.put("activation_state_dict", JSON.writeValueAsString(activation.stateDict()));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot encode " + activation.stateDict(), e);
    }
    SafetensorsFile.write(file, tensors, metadata);
  }

  /** Frees the weights. */
  @Override
  public void close() {
    manager.close();
  }

  @Override
  public String toString() {
    return "Autoencoder[n_inputs=" + nInputs + ", n_latents=" + nLatents + ", " + activation + "]";
  }

  // ---------------------------------------------------------------------------------------------

  private static void checkInput(NDArray x, int width, String what) {
    Shape s = x.getShape();
    if (s.dimension() == 0 || s.get(s.dimension() - 1) != width) {
      throw new IllegalArgumentException(
          "The autoencoder's " + what + " must be [..., " + width + "], got " + s);
    }
  }

  private static NDArray copyTo(NDArray a, NDManager target) {
    NDArray copy = a.duplicate();
    copy.attach(target);
    return copy;
  }

  private static NDArray sliceCopy(NDArray a, NDIndex index, NDManager target) {
    try (NDArray view = a.get(index)) {
      NDArray copy = view.duplicate();
      copy.attach(target);
      return copy;
    }
  }

  private static HostTensor tensor(
      Map<String, ?> stateDict, String key, String source, boolean required) {
    Object value = stateDict.get(key);
    if (value == null) {
      if (required) {
        throw new WeightFormatException(
            source
                + " is not a sparse autoencoder state dict: it has no '"
                + key
                + "' (keys: "
                + stateDict.keySet()
                + "); expected the original's Autoencoder.state_dict() with encoder.weight,"
                + " decoder.weight, pre_bias and latent_bias");
      }
      return null;
    }
    if (!(value instanceof HostTensor t)) {
      throw new WeightFormatException(
          source + ": '" + key + "' must be a tensor, got " + describe(value));
    }
    return t;
  }

  private static void checkShape(
      HostTensor t, String source, String key, String expected, long... shape) {
    checkShape(t.shape(), source, key, expected, shape);
  }

  private static void checkShape(
      long[] actual, String source, String key, String expected, long... shape) {
    if (!Arrays.equals(actual, shape)) {
      throw new WeightFormatException(
          source
              + ": inconsistent autoencoder shapes: '"
              + key
              + "' is "
              + Arrays.toString(actual)
              + " but must be "
              + expected
              + " = "
              + Arrays.toString(shape)
              + " for encoder.weight [n_latents, n_inputs]; the file is corrupt or not from the"
              + " same autoencoder");
    }
  }

  private static void checkShapes(
      long[] encoder, long[] decoder, long[] preBias, long[] latentBias, String source) {
    if (encoder.length != 2) {
      throw new WeightFormatException(
          source
              + ": encoder.weight must be [n_latents, n_inputs], got shape "
              + Arrays.toString(encoder));
    }
    long nLat = encoder[0];
    long nIn = encoder[1];
    checkShape(decoder, source, "decoder.weight", "[n_inputs, n_latents]", nIn, nLat);
    checkShape(preBias, source, "pre_bias", "[n_inputs]", nIn);
    checkShape(latentBias, source, "latent_bias", "[n_latents]", nLat);
  }

  private static NDArray toFloat32(HostTensor t, NDManager m) {
    if (t.dtype() != DType.F32
        && t.dtype() != DType.F16
        && t.dtype() != DType.BF16
        && t.dtype() != DType.F64) {
      throw new WeightFormatException("autoencoder weights must be floating point, got " + t);
    }
    NDArray a = t.toNDArray(m);
    if (a.getDataType() == DataType.FLOAT32) {
      return a;
    }
    NDArray f = a.toType(DataType.FLOAT32, false);
    a.close();
    return f;
  }

  private static NDArray float32Copy(NDArray a, NDManager m) {
    if (!a.getDataType().isFloating()) {
      throw new IllegalArgumentException("autoencoder weights must be floating point, got " + a);
    }
    // duplicate() clones into libtorch-owned memory; the caller's array may wrap a Java buffer
    NDArray copy =
        a.getDataType() == DataType.FLOAT32 ? a.duplicate() : a.toType(DataType.FLOAT32, false);
    copy.attach(m);
    return copy;
  }

  private static HostTensor toHost(NDArray a) {
    float[] values = a.toFloatArray();
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return new HostTensor(DType.F32, a.getShape().getShape(), b);
  }

  private static float[] filled(int n, float value) {
    float[] a = new float[n];
    Arrays.fill(a, value);
    return a;
  }

  private static Map<String, Object> parseJsonMap(String json, Path file) {
    try {
      Map<String, Object> m =
          JSON.readValue(json, new TypeReference<LinkedHashMap<String, Object>>() {});
      return Objects.requireNonNullElseGet(m, LinkedHashMap::new);
    } catch (JsonProcessingException e) {
      throw new WeightFormatException(
          file + ": metadata 'activation_state_dict' is not a JSON object: " + json, e);
    }
  }

  private static String describe(Object value) {
    return value == null ? "None" : value.getClass().getSimpleName() + " " + value;
  }
}
