package io.github.neuronexplainer.models.derived;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.weights.DType;
import io.github.neuronexplainer.models.weights.HostTensor;
import io.github.neuronexplainer.models.weights.SafetensorsFile;
import io.github.neuronexplainer.models.weights.WeightFormatException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves and loads a {@link DerivedScalarStore} (the original's {@code save_to_file} / {@code
 * load_from_file}, which pickle a dict with {@code torch.save}). One safetensors file: every
 * layer's tensor under its own name, and the store's structure as JSON in the header's {@code
 * __metadata__} under {@value #METADATA_KEY}:
 *
 * <pre>{"format": "neuron-explainer-derived-scalar-store", "version": 1,
 *  "entries": [{"dst": "mlp_post_act", "pass_type": "forward",
 *               "layers": [{"layer": 0, "tensor": "0.0"}, ...]}, ...]}</pre>
 *
 * ({@code "layer": null} is the layer-less key). Files are read as untrusted input: the container
 * is checked by {@link SafetensorsFile#read}, then the JSON, every DST and pass-type name, layer,
 * tensor reference (each tensor used exactly once) and tensor rank (the DST's shape spec) before
 * any tensor reaches the engine. A malformed file ends in a {@link StoreFileException} naming the
 * file and the problem; nothing is left allocated.
 *
 * <p>Thread-safety: stateless; all methods may be called concurrently (on different files for
 * {@link #save}).
 */
public final class DerivedScalarStoreFile {
  private static final Logger LOG = LoggerFactory.getLogger(DerivedScalarStoreFile.class);

  /** The {@code __metadata__} key holding the store's JSON. */
  public static final String METADATA_KEY = "derived_scalar_store";

  static final String FORMAT = "neuron-explainer-derived-scalar-store";
  static final int VERSION = 1;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private DerivedScalarStoreFile() {}

  /**
   * A derived-scalar store file is malformed or inconsistent; the message names file and problem.
   */
  public static final class StoreFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StoreFileException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Writes every entry of {@code store} (atomically: the file is complete or absent/unchanged).
   *
   * @throws IllegalArgumentException if a tensor has a data type safetensors cannot hold
   * @throws UncheckedIOException if writing fails
   */
  public static void save(DerivedScalarStore store, Path file) {
    Map<String, HostTensor> tensors = new LinkedHashMap<>();
    ObjectNode root = JSON.createObjectNode().put("format", FORMAT).put("version", VERSION);
    ArrayNode entries = root.putArray("entries");
    int e = 0;
    for (ActivationsAndMetadata am : store.entries().values()) {
      ObjectNode entry = entries.addObject();
      entry.put("dst", am.dst().value()).put("pass_type", am.passType().value());
      ArrayNode layers = entry.putArray("layers");
      int l = 0;
      for (Map.Entry<Integer, NDArray> layer : am.activationsByLayer().entrySet()) {
        String name = e + "." + l++;
        ObjectNode node = layers.addObject();
        if (layer.getKey() == LayerIndex.NONE) {
          node.putNull("layer");
        } else {
          node.put("layer", layer.getKey());
        }
        node.put("tensor", name);
        tensors.put(name, toHost(layer.getValue(), am));
      }
      e++;
    }
    SafetensorsFile.write(file, tensors, Map.of(METADATA_KEY, root.toString()));
  }

  private static HostTensor toHost(NDArray array, ActivationsAndMetadata am) {
    for (DType dtype : DType.values()) {
      if (dtype.djlType() == array.getDataType()) {
        return new HostTensor(dtype, array.getShape().getShape(), array.toByteBuffer());
      }
    }
    throw new IllegalArgumentException(
        am
            + ": data type "
            + array.getDataType()
            + " cannot be saved; convert the store first"
            + " (e.g. store.map(x -> x.toType(DataType.FLOAT32, false), manager))");
  }

  /** {@link #load(Path, NDManager, boolean)} refusing DSTs this version does not know. */
  public static DerivedScalarStore load(Path file, NDManager parent) {
    return load(file, parent, false);
  }

  /**
   * Reads a store written by {@link #save}. Its tensors live in a new sub-manager of {@code parent}
   * that the returned store owns: close the store.
   *
   * @param skipUnknownDsts skip (with a warning) entries whose DST this version does not know, as
   *     the original's {@code skip_missing_dsts}; false refuses them
   * @throws StoreFileException if the file is not a valid store file of this format version
   * @throws UncheckedIOException if the file cannot be read
   */
  public static DerivedScalarStore load(Path file, NDManager parent, boolean skipUnknownDsts) {
    SafetensorsFile.TensorFile contents;
    try {
      contents = SafetensorsFile.read(file);
    } catch (WeightFormatException e) {
      throw new StoreFileException(e.getMessage(), e);
    }
    List<Layout> layouts = parse(file, contents, skipUnknownDsts);
    NDManager manager = parent.newSubManager();
    try {
      List<ActivationsAndMetadata> list = new ArrayList<>();
      for (Layout layout : layouts) {
        Map<Integer, NDArray> byLayer = new LinkedHashMap<>();
        layout.tensorByLayer.forEach(
            (layer, name) -> {
              HostTensor host = contents.tensors().get(name);
              byLayer.put(
                  layer, (host.dtype() == DType.BF16 ? host.toFloat32() : host).toNDArray(manager));
            });
        list.add(new ActivationsAndMetadata(layout.dst, layout.passType, byLayer));
      }
      return DerivedScalarStore.fromList(list, manager);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** One entry's structure, checked against the tensors. */
  private record Layout(
      DerivedScalarType dst, PassType passType, Map<Integer, String> tensorByLayer) {}

  private static List<Layout> parse(
      Path file, SafetensorsFile.TensorFile contents, boolean skipUnknownDsts) {
    String json = contents.metadata().get(METADATA_KEY);
    if (json == null) {
      throw error(
          file,
          "no '"
              + METADATA_KEY
              + "' metadata: not a derived scalar store file"
              + " (write one with DerivedScalarStoreFile.save)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new StoreFileException(
          file + ": the store metadata is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
      throw error(file, "the store metadata must be an object with \"format\": \"" + FORMAT + "\"");
    }
    JsonNode version = root.path("version");
    if (!version.isInt() || version.asInt() != VERSION) {
      throw error(
          file,
          "format version "
              + version
              + " cannot be read by this version, which"
              + " reads version "
              + VERSION);
    }
    JsonNode entries = root.path("entries");
    if (!entries.isArray()) {
      throw error(file, "\"entries\" must be an array");
    }
    List<Layout> layouts = new ArrayList<>();
    Set<String> used = new HashSet<>();
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < entries.size(); i++) {
      JsonNode entry = entries.get(i);
      String where = "entry " + i;
      String dstName = text(file, where, entry, "dst");
      String passName = text(file, where, entry, "pass_type");
      PassType passType;
      try {
        passType = PassType.fromValue(passName);
      } catch (IllegalArgumentException e) {
        throw new StoreFileException(
            file + ": " + where + ": unknown pass type '" + passName + "'", e);
      }
      JsonNode layers = entry.path("layers");
      if (!layers.isArray()) {
        throw error(file, where + ": \"layers\" must be an array");
      }
      DerivedScalarType dst;
      try {
        dst = DerivedScalarType.fromValue(dstName);
      } catch (IllegalArgumentException e) {
        if (!skipUnknownDsts) {
          throw new StoreFileException(
              file
                  + ": "
                  + where
                  + ": unknown DST '"
                  + dstName
                  + "' (written by another version? load with skipUnknownDsts=true to skip it)",
              e);
        }
        LOG.warn("{}: skipping unknown DST {} at pass type {}", file, dstName, passName);
        layers.forEach(layer -> used.add(layer.path("tensor").asText()));
        continue;
      }
      if (!keys.add(dst.value() + "/" + passType.value())) {
        throw error(file, where + ": a second entry for " + dst.value() + "/" + passType.value());
      }
      Map<Integer, String> tensorByLayer = new LinkedHashMap<>();
      for (JsonNode layer : layers) {
        JsonNode index = layer.path("layer");
        int layerIndex;
        if (index.isNull()) {
          layerIndex = LayerIndex.NONE;
        } else if (index.isInt() && index.asInt() >= 0) {
          layerIndex = index.asInt();
        } else {
          throw error(
              file,
              where
                  + " ("
                  + dstName
                  + "): layer must be null or a non-negative"
                  + " integer, got "
                  + index);
        }
        String name = text(file, where, layer, "tensor");
        HostTensor tensor = contents.tensors().get(name);
        if (tensor == null) {
          throw error(file, where + " (" + dstName + "): tensor '" + name + "' is not in the file");
        }
        if (!used.add(name)) {
          throw error(file, where + " (" + dstName + "): tensor '" + name + "' is used twice");
        }
        if (tensorByLayer.put(layerIndex, name) != null) {
          throw error(file, where + " (" + dstName + "): layer " + index + " appears twice");
        }
        if (tensor.shape().length != dst.ndimPerTokenSequence()) {
          throw error(
              file,
              where
                  + " ("
                  + dstName
                  + "): tensor '"
                  + name
                  + "' has "
                  + tensor.shape().length
                  + " dimensions, but "
                  + dstName
                  + " has "
                  + dst.shapeSpecPerTokenSequence());
        }
      }
      if (tensorByLayer.size() > 1 && tensorByLayer.containsKey(LayerIndex.NONE)) {
        throw error(
            file,
            where
                + " ("
                + dstName
                + "): the layer-less entry (null) cannot be"
                + " mixed with layers "
                + tensorByLayer.keySet());
      }
      layouts.add(new Layout(dst, passType, tensorByLayer));
    }
    for (String name : contents.tensors().keySet()) {
      if (!used.contains(name)) {
        throw error(file, "tensor '" + name + "' belongs to no entry; the file is inconsistent");
      }
    }
    return layouts;
  }

  private static String text(Path file, String where, JsonNode node, String key) {
    JsonNode value = node.path(key);
    if (!value.isTextual()) {
      throw error(file, where + ": \"" + key + "\" must be a string, got " + value);
    }
    return value.asText();
  }

  private static StoreFileException error(Path file, String problem) {
    return new StoreFileException(file + ": " + problem, null);
  }
}
