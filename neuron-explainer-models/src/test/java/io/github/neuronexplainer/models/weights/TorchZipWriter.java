package io.github.neuronexplainer.models.weights;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Test helper: writes torch-style zip pickles (protocol 2) byte by byte, as torch.save does. */
final class TorchZipWriter {
  private final ByteArrayOutputStream pickle = new ByteArrayOutputStream();
  private final Map<String, byte[]> storages = new LinkedHashMap<>();

  TorchZipWriter() {
    raw(0x80, 0x02);
  }

  TorchZipWriter raw(int... bytes) {
    for (int b : bytes) {
      pickle.write(b);
    }
    return this;
  }

  TorchZipWriter global(String module, String name) {
    pickle.write('c');
    ascii(module + "\n" + name + "\n");
    return this;
  }

  /** Raw ASCII bytes, e.g. the module/name lines of GLOBAL or INST. */
  TorchZipWriter text(String s) {
    ascii(s);
    return this;
  }

  TorchZipWriter string(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    pickle.write('X');
    int32(utf8.length);
    pickle.writeBytes(utf8);
    return this;
  }

  TorchZipWriter integer(long value) {
    pickle.write('J');
    int32((int) value);
    return this;
  }

  TorchZipWriter mark() {
    return raw('(');
  }

  TorchZipWriter tuple() {
    return raw('t');
  }

  TorchZipWriter emptyOrderedDict() {
    return global("collections", "OrderedDict").raw(')', 'R');
  }

  TorchZipWriter tupleOf(long... values) {
    mark();
    for (long v : values) {
      integer(v);
    }
    return tuple();
  }

  /** Pushes {@code _rebuild_tensor_v2(storage key, offset, size, stride, False, OrderedDict())}. */
  TorchZipWriter tensor(
      String storageClass, String key, long storageNumel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2");
    mark();
    mark()
        .string("storage")
        .global("torch", storageClass)
        .string(key)
        .string("cpu")
        .integer(storageNumel)
        .tuple()
        .raw('Q');
    integer(offset).tupleOf(size).tupleOf(stride).raw(0x89);
    emptyOrderedDict();
    tuple().raw('R');
    return this;
  }

  TorchZipWriter storage(String key, byte[] bytes) {
    storages.put(key, bytes);
    return this;
  }

  TorchZipWriter floatStorage(String key, float... values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return storage(key, b.array());
  }

  byte[] pickleBytes() {
    return pickle.toByteArray();
  }

  /** Finishes the pickle with STOP and writes {@code archive/data.pkl} + storages to a zip. */
  Path write(Path file) throws IOException {
    raw('.');
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put("archive/data.pkl", pickleBytes());
    storages.forEach((key, bytes) -> entries.put("archive/data/" + key, bytes));
    entries.put("archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    writeZip(file, entries);
    return file;
  }

  /** Writes uncompressed (STORED) entries, like torch.save. */
  static void writeZip(Path file, Map<String, byte[]> entries) throws IOException {
    try (OutputStream out = Files.newOutputStream(file);
        ZipOutputStream zip = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        ZipEntry entry = new ZipEntry(e.getKey());
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(e.getValue().length);
        CRC32 crc = new CRC32();
        crc.update(e.getValue());
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(e.getValue());
        zip.closeEntry();
      }
    }
  }

  /** Writes {@code tensor} as a contiguous bare-tensor .pt file (like torch.save(tensor)). */
  static Path writeBareTensor(Path file, HostTensor tensor) throws IOException {
    long[] shape = tensor.shape();
    long[] stride = new long[shape.length];
    long step = 1;
    for (int d = shape.length - 1; d >= 0; d--) {
      stride[d] = step;
      step *= shape[d];
    }
    ByteBuffer data = tensor.data();
    byte[] bytes = new byte[data.remaining()];
    data.get(bytes);
    return new TorchZipWriter()
        .tensor(tensor.dtype().torchStorageClass(), "0", tensor.numel(), 0, shape, stride)
        .storage("0", bytes)
        .write(file);
  }

  private void ascii(String s) {
    pickle.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
  }

  private void int32(int v) {
    pickle.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
  }
}
