package io.github.neuronexplainer.models.weights;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Opcodes;
import net.razorvine.pickle.PickleUtils;
import net.razorvine.pickle.Unpickler;

/**
 * Reads {@code torch.save} files in the zip format of torch 1.6 and later ({@code
 * <archive>/data.pkl} plus raw storages {@code <archive>/data/<key>}) without running any Python
 * code.
 *
 * <p>Safety: the pickle may only reference the globals torch needs for tensor state dicts ({@code
 * torch._utils._rebuild_tensor}, {@code _rebuild_tensor_v2}, {@code _rebuild_parameter}, {@code
 * _rebuild_parameter_with_state}, {@code collections.OrderedDict}, the {@code torch.*Storage}
 * classes, {@code torch.<dtype>} and {@code torch.Size}). Any other global, the {@code INST} opcode
 * and {@code BUILD} on anything but an {@code OrderedDict} are refused with a {@link
 * WeightFormatException} when the opcode is read, before anything is constructed. Pyrolite's global
 * constructor registry and its reflective {@code __setstate__} are never consulted.
 *
 * <p>Result types: a bare tensor root gives a {@link HostTensor}; (Ordered)dicts give {@code
 * LinkedHashMap<String, Object>} in file order; tuples and lists give {@code List<Object>}; ints
 * give {@code Long}; floats {@code Double}; plus {@code String}, {@code Boolean}, {@code byte[]}
 * and {@code null}. Tensors are contiguous copies (strided views are gathered), little-endian.
 *
 * <p>Thread-safety: stateless; {@link #read} may be called from several threads at once (each call
 * uses its own unpickler).
 */
public final class TorchPickleReader {
  /** data.pkl larger than this is refused (real state-dict pickles are a few MB at most). */
  private static final long MAX_PICKLE_BYTES = 512L * 1024 * 1024;

  private static final int MAX_NESTING = 200;

  private TorchPickleReader() {}

  /**
   * Reads a torch zip-pickle file.
   *
   * @throws WeightFormatException if the file is not a torch zip (legacy, truncated or corrupt),
   *     lacks {@code data.pkl} or a storage entry, is big-endian, references a global outside the
   *     allow-list, or describes a tensor that does not fit its storage
   * @throws UncheckedIOException if the file cannot be read
   */
  public static Object read(Path ptFile) {
    checkZipMagic(ptFile);
    try (ZipFile zip = new ZipFile(ptFile.toFile())) {
      String prefix = findArchivePrefix(zip, ptFile);
      checkByteOrder(zip, prefix, ptFile);
      ZipEntry pickleEntry = zip.getEntry(prefix + "data.pkl");
      byte[] pickle;
      try (InputStream in = zip.getInputStream(pickleEntry)) {
        pickle = in.readNBytes((int) Math.min(MAX_PICKLE_BYTES + 1, Integer.MAX_VALUE - 8));
      }
      if (pickle.length > MAX_PICKLE_BYTES) {
        throw error(ptFile, "data.pkl is larger than " + MAX_PICKLE_BYTES + " bytes");
      }
      Object root;
      RestrictedUnpickler unpickler = new RestrictedUnpickler(zip, prefix, ptFile);
      try {
        root = unpickler.load(new ByteArrayInputStream(pickle));
      } catch (WeightFormatException e) {
        throw e;
      } catch (IOException | RuntimeException e) {
        throw new WeightFormatException(
            ptFile + ": corrupt or unsupported pickle in data.pkl: " + e, e);
      } finally {
        unpickler.close();
      }
      return toResult(root, ptFile, 0);
    } catch (ZipException e) {
      throw error(
          ptFile, "not a readable torch zip file (truncated or corrupt): " + e.getMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("could not read torch file " + ptFile, e);
    }
  }

  private static void checkZipMagic(Path file) {
    byte[] magic;
    try (InputStream in = Files.newInputStream(file)) {
      magic = in.readNBytes(4);
    } catch (NoSuchFileException e) {
      throw new UncheckedIOException("torch file not found: " + file, e);
    } catch (IOException e) {
      throw new UncheckedIOException("could not read torch file " + file, e);
    }
    if (magic.length < 4 || magic[0] != 'P' || magic[1] != 'K') {
      throw error(
          file,
          "not a zip file; only the zip format of torch >= 1.6 is supported "
              + "(re-save legacy files with torch.save(obj, path) in a recent torch)");
    }
  }

  private static String findArchivePrefix(ZipFile zip, Path file) {
    String found = null;
    for (Enumeration<? extends ZipEntry> it = zip.entries(); it.hasMoreElements(); ) {
      String name = it.nextElement().getName();
      if (name.equals("data.pkl")
          || (name.endsWith("/data.pkl")
              && name.indexOf('/') == name.length() - "/data.pkl".length())) {
        if (found != null) {
          throw error(file, "zip holds more than one data.pkl");
        }
        found = name.substring(0, name.length() - "data.pkl".length());
      }
    }
    if (found == null) {
      throw error(file, "zip has no <archive>/data.pkl entry; not a torch.save file");
    }
    return found;
  }

  private static void checkByteOrder(ZipFile zip, String prefix, Path file) throws IOException {
    ZipEntry entry = zip.getEntry(prefix + "byteorder");
    if (entry == null) {
      return;
    }
    String order;
    try (InputStream in = zip.getInputStream(entry)) {
      order = new String(in.readNBytes(16), StandardCharsets.US_ASCII).strip();
    }
    if (!order.equals("little")) {
      throw error(file, "byteorder is '" + order + "'; only little-endian files are supported");
    }
  }

  private static Object toResult(Object value, Path file, int depth) {
    if (depth > MAX_NESTING) {
      throw error(file, "pickle nests deeper than " + MAX_NESTING + " levels or is cyclic");
    }
    if (value == null
        || value instanceof HostTensor
        || value instanceof String
        || value instanceof Boolean
        || value instanceof Double
        || value instanceof Long
        || value instanceof byte[]) {
      return value;
    }
    if (value instanceof Integer i) {
      return i.longValue();
    }
    if (value instanceof BigInteger big) {
      if (big.bitLength() > 63) {
        throw error(file, "integer " + big + " does not fit in a long");
      }
      return big.longValue();
    }
    if (value instanceof Map<?, ?> map) {
      LinkedHashMap<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> entry : map.entrySet()) {
        if (!(entry.getKey() instanceof String key)) {
          throw error(file, "dict key " + entry.getKey() + " is not a string");
        }
        out.put(key, toResult(entry.getValue(), file, depth + 1));
      }
      return out;
    }
    if (value instanceof Object[] tuple) {
      return toList(Arrays.asList(tuple), file, depth);
    }
    if (value instanceof Collection<?> list) {
      return toList(list, file, depth);
    }
    throw error(
        file,
        "unsupported value of type "
            + value.getClass().getSimpleName()
            + " in pickle ("
            + value
            + ")");
  }

  private static List<Object> toList(Collection<?> items, Path file, int depth) {
    List<Object> out = new ArrayList<>(items.size());
    for (Object item : items) {
      out.add(toResult(item, file, depth + 1));
    }
    return out;
  }

  private static WeightFormatException error(Path file, String problem) {
    return new WeightFormatException(file + ": " + problem);
  }

  /** The {@code torch.<X>Storage} class named in a persistent id. */
  private record StorageType(DType dtype) {}

  /** A {@code torch.<dtype>} global, e.g. {@code torch.float32}. */
  private record TorchDtype(DType dtype) {}

  /** A storage read from {@code data/<key>}. */
  private record Storage(String key, DType dtype, long numel, ByteBuffer bytes) {}

  /** Dict created by {@code collections.OrderedDict}; the only object BUILD may update. */
  private static final class PickledOrderedDict extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;
  }

  /**
   * Unpickler that resolves globals against the allow-list itself (GLOBAL, STACK_GLOBAL, INST),
   * keeps dict insertion order, and handles BUILD without reflection.
   */
  private static final class RestrictedUnpickler extends Unpickler {
    private final ZipFile zip;
    private final String prefix;
    private final Path file;
    private final Map<String, Storage> storagesByKey = new HashMap<>();

    RestrictedUnpickler(ZipFile zip, String prefix, Path file) {
      this.zip = zip;
      this.prefix = prefix;
      this.file = file;
    }

    @Override
    protected Object dispatch(short opcode) throws IOException {
      switch (opcode) {
        case Opcodes.GLOBAL -> {
          String module = PickleUtils.readline(input);
          String name = PickleUtils.readline(input);
          stack.add(resolveGlobal(module, name));
        }
        case Opcodes.STACK_GLOBAL -> {
          Object name = stack.pop();
          Object module = stack.pop();
          if (!(module instanceof String m) || !(name instanceof String n)) {
            throw error(file, "STACK_GLOBAL needs two strings on the stack");
          }
          stack.add(resolveGlobal(m, n));
        }
        case Opcodes.INST -> {
          String module = PickleUtils.readline(input);
          String name = PickleUtils.readline(input);
          throw refused(module + "." + name);
        }
        case Opcodes.BUILD -> {
          stack.pop(); // the state: for OrderedDict only its _metadata (state-dict versions)
          if (!(stack.peek() instanceof PickledOrderedDict)) {
            throw error(
                file,
                "BUILD on "
                    + describe(stack.peek())
                    + " is not supported; only OrderedDict state may be restored");
          }
        }
        case Opcodes.EMPTY_DICT -> stack.add(new LinkedHashMap<>());
        case Opcodes.DICT ->
            stack.add(putPairs(new LinkedHashMap<>(), stack.pop_all_since_marker()));
        case Opcodes.SETITEMS -> {
          List<Object> pairs = stack.pop_all_since_marker();
          putPairs(asDict(stack.peek()), pairs);
        }
        case Opcodes.SETITEM -> {
          Object value = stack.pop();
          Object key = stack.pop();
          asDict(stack.peek()).put(key, value);
        }
        default -> {
          checkLengthPrefix(opcode);
          return super.dispatch(opcode);
        }
      }
      return NO_RETURN_VALUE;
    }

    /** Refuses a length-prefixed opcode whose length exceeds the rest of the pickle. */
    private void checkLengthPrefix(short opcode) throws IOException {
      int width =
          switch (opcode) {
            case Opcodes.BINSTRING, Opcodes.BINBYTES, Opcodes.BINUNICODE, Opcodes.LONG4 -> 4;
            case Opcodes.BINUNICODE8, Opcodes.BINBYTES8, Opcodes.BYTEARRAY8 -> 8;
            default -> 0;
          };
      if (width == 0) {
        return;
      }
      input.mark(width);
      byte[] lengthBytes = input.readNBytes(width);
      input.reset();
      if (lengthBytes.length < width) {
        return; // the opcode itself will report the premature end
      }
      ByteBuffer lengthField = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN);
      long length = width == 4 ? lengthField.getInt() : lengthField.getLong();
      if (length < 0 || length > input.available() - width) {
        throw error(
            file,
            "pickle opcode declares "
                + length
                + " bytes but only "
                + (input.available() - width)
                + " remain; data.pkl is truncated or corrupt");
      }
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> asDict(Object target) {
      if (!(target instanceof Map<?, ?>)) {
        throw error(file, "SETITEM(S) on " + describe(target) + ", which is not a dict");
      }
      return (Map<Object, Object>) target;
    }

    private Map<Object, Object> putPairs(Map<Object, Object> dict, List<Object> flat) {
      if (flat.size() % 2 != 0) {
        throw error(file, "dict items have an odd number of keys and values");
      }
      for (int i = 0; i < flat.size(); i += 2) {
        dict.put(flat.get(i), flat.get(i + 1));
      }
      return dict;
    }

    private Object resolveGlobal(String module, String name) {
      String qualified = module + "." + name;
      switch (qualified) {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
          return (IObjectConstructor) this::rebuildTensor;
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
          return (IObjectConstructor)
              args -> {
                if (args.length < 1 || !(args[0] instanceof HostTensor tensor)) {
                  throw error(file, qualified + " expects a tensor as first argument");
                }
                return tensor;
              };
        case "collections.OrderedDict":
          return (IObjectConstructor)
              args -> {
                if (args.length != 0) {
                  throw error(
                      file, "collections.OrderedDict with constructor arguments is not supported");
                }
                return new PickledOrderedDict();
              };
        case "torch.Size":
          return (IObjectConstructor)
              args -> {
                if (args.length != 1 || !(args[0] instanceof Object[] dims)) {
                  throw error(file, "torch.Size expects one tuple argument");
                }
                return dims;
              };
        default:
          break;
      }
      if (module.equals("torch")) {
        var storage = DType.fromTorchStorageClass(name);
        if (storage.isPresent()) {
          return new StorageType(storage.get());
        }
        var dtype = DType.fromTorchDtypeName(name);
        if (dtype.isPresent()) {
          return new TorchDtype(dtype.get());
        }
      }
      throw refused(qualified);
    }

    private WeightFormatException refused(String qualifiedName) {
      return error(
          file,
          "refuses to load global "
              + qualifiedName
              + ": only torch tensor state dicts are supported (tensors, OrderedDicts, plain values); "
              + "nothing was executed. If this file is trusted, convert it to safetensors in Python.");
    }

    @Override
    protected Object persistentLoad(Object pid) {
      if (!(pid instanceof Object[] parts)
          || parts.length != 5
          || !"storage".equals(parts[0])
          || !(parts[1] instanceof StorageType type)
          || !(parts[2] instanceof String key)
          || !(parts[4] instanceof Number numel)) {
        throw error(
            file,
            "unsupported persistent id "
                + describe(pid)
                + "; expected ('storage', torch.<X>Storage, key, location, numel)");
      }
      Storage storage = storagesByKey.get(key);
      if (storage == null) {
        storage = loadStorage(key, type.dtype(), numel.longValue());
        storagesByKey.put(key, storage);
      } else if (storage.dtype() != type.dtype()) {
        throw error(
            file,
            "storage " + key + " is used as both " + storage.dtype() + " and " + type.dtype());
      }
      return storage;
    }

    private Storage loadStorage(String key, DType dtype, long numel) {
      String entryName = prefix + "data/" + key;
      ZipEntry entry = zip.getEntry(entryName);
      if (entry == null) {
        throw error(file, "storage entry " + entryName + " is missing from the zip");
      }
      long needed;
      try {
        needed = Math.multiplyExact(numel, (long) dtype.byteSize());
      } catch (ArithmeticException e) {
        throw error(file, "storage " + key + " declares an impossible size of " + numel);
      }
      if (numel < 0 || needed > Integer.MAX_VALUE - 8) {
        throw error(
            file,
            "storage "
                + key
                + " declares "
                + numel
                + " elements of "
                + dtype
                + "; storages must be between 0 and 2 GiB");
      }
      if (entry.getSize() >= 0 && entry.getSize() < needed) {
        throw error(
            file,
            "storage "
                + entryName
                + " has "
                + entry.getSize()
                + " bytes but "
                + numel
                + " elements of "
                + dtype
                + " need "
                + needed);
      }
      ByteBuffer bytes = ByteBuffer.allocateDirect((int) needed).order(ByteOrder.LITTLE_ENDIAN);
      try (InputStream in = zip.getInputStream(entry)) {
        byte[] chunk = new byte[1 << 16];
        while (bytes.hasRemaining()) {
          int read = in.read(chunk, 0, Math.min(chunk.length, bytes.remaining()));
          if (read < 0) {
            throw error(
                file,
                "storage "
                    + entryName
                    + " ends after "
                    + bytes.position()
                    + " bytes but "
                    + needed
                    + " are needed; the file is truncated");
          }
          bytes.put(chunk, 0, read);
        }
      } catch (IOException e) {
        throw new WeightFormatException(
            file
                + ": could not read storage "
                + entryName
                + " (truncated or corrupt zip): "
                + e.getMessage(),
            e);
      }
      bytes.flip();
      return new Storage(key, dtype, numel, bytes);
    }

    /** {@code _rebuild_tensor[_v2](storage, storage_offset, size, stride, ...)}. */
    private HostTensor rebuildTensor(Object[] args) {
      if (args.length < 4 || !(args[0] instanceof Storage storage)) {
        throw error(
            file,
            "_rebuild_tensor expects (storage, offset, size, stride, ...), got " + describe(args));
      }
      long offset = asLong(args[1], "storage_offset");
      long[] size = asLongs(args[2], "size");
      long[] stride = asLongs(args[3], "stride");
      String where = "tensor on storage " + storage.key();
      if (size.length != stride.length) {
        throw error(
            file,
            where
                + ": size "
                + Arrays.toString(size)
                + " and stride "
                + Arrays.toString(stride)
                + " differ in rank");
      }
      long numel;
      try {
        numel = HostTensor.numelOf(size);
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw error(file, where + ": invalid size " + Arrays.toString(size));
      }
      if (offset < 0 || Arrays.stream(stride).anyMatch(s -> s < 0)) {
        throw error(file, where + ": negative storage offset or stride");
      }
      int elementSize = storage.dtype().byteSize();
      if (numel == 0) {
        return new HostTensor(storage.dtype(), size, ByteBuffer.allocate(0));
      }
      long lastElement = offset;
      try {
        for (int d = 0; d < size.length; d++) {
          lastElement = Math.addExact(lastElement, Math.multiplyExact(size[d] - 1, stride[d]));
        }
      } catch (ArithmeticException e) {
        lastElement = Long.MAX_VALUE;
      }
      if (lastElement >= storage.numel()) {
        throw error(
            file,
            where
                + ": size "
                + Arrays.toString(size)
                + ", stride "
                + Arrays.toString(stride)
                + " and offset "
                + offset
                + " reach element "
                + lastElement
                + " past the end of the storage ("
                + storage.numel()
                + " elements)");
      }
      ByteBuffer source = storage.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN);
      if (isContiguous(size, stride)) {
        source.position(Math.toIntExact(offset * elementSize));
        source.limit(Math.toIntExact((offset + numel) * elementSize));
        return new HostTensor(storage.dtype(), size, source.slice());
      }
      return new HostTensor(
          storage.dtype(), size, gather(source, elementSize, offset, size, stride, numel));
    }

    private static boolean isContiguous(long[] size, long[] stride) {
      long expected = 1;
      for (int d = size.length - 1; d >= 0; d--) {
        if (size[d] != 1 && stride[d] != expected) {
          return false;
        }
        expected *= size[d];
      }
      return true;
    }

    /** Copies a strided view into a new row-major buffer. */
    private static ByteBuffer gather(
        ByteBuffer source, int elementSize, long offset, long[] size, long[] stride, long numel) {
      ByteBuffer out =
          ByteBuffer.allocateDirect(Math.toIntExact(numel * elementSize))
              .order(ByteOrder.LITTLE_ENDIAN);
      int rank = size.length;
      long[] index = new long[rank];
      long sourceElement = offset;
      byte[] element = new byte[elementSize];
      for (long n = 0; n < numel; n++) {
        source.get(Math.toIntExact(sourceElement * elementSize), element);
        out.put(element);
        for (int d = rank - 1; d >= 0; d--) {
          index[d]++;
          sourceElement += stride[d];
          if (index[d] < size[d]) {
            break;
          }
          sourceElement -= stride[d] * size[d];
          index[d] = 0;
        }
      }
      out.flip();
      return out;
    }

    private long asLong(Object value, String what) {
      if (value instanceof Integer || value instanceof Long) {
        return ((Number) value).longValue();
      }
      throw error(file, what + " must be an integer, got " + describe(value));
    }

    private long[] asLongs(Object value, String what) {
      if (!(value instanceof Object[] items)) {
        throw error(file, what + " must be a tuple of integers, got " + describe(value));
      }
      long[] out = new long[items.length];
      for (int i = 0; i < items.length; i++) {
        out[i] = asLong(items[i], what);
      }
      return out;
    }

    private static String describe(Object value) {
      if (value == null) {
        return "None";
      }
      if (value instanceof Object[] items) {
        return Arrays.deepToString(items);
      }
      return value.getClass().getSimpleName();
    }
  }
}
