package io.github.neuronexplainer.models.weights;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * A tensor held in Java memory, as read from a weights file: element type, shape, and the elements
 * as little-endian, row-major, contiguous bytes.
 *
 * <p>The constructor does not copy {@code data} (weights can be hundreds of MB); it keeps a
 * read-only view of the buffer's remaining bytes, so the caller must not modify the buffer
 * afterwards. {@link #data()} returns a fresh read-only view positioned at 0 on every call.
 *
 * <p>Thread-safety: immutable once constructed and safe to share between threads, provided the
 * original buffer is no longer written.
 *
 * @param dtype element type
 * @param shape dimensions, each {@code >= 0}; an empty array is a scalar
 * @param data exactly {@code numel() * dtype.byteSize()} bytes
 */
public record HostTensor(DType dtype, long[] shape, ByteBuffer data) {

  public HostTensor {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(shape, "shape");
    Objects.requireNonNull(data, "data");
    shape = shape.clone();
    long expectedBytes = Math.multiplyExact(numelOf(shape), (long) dtype.byteSize());
    if (data.remaining() != expectedBytes) {
      throw new IllegalArgumentException(
          "tensor data has "
              + data.remaining()
              + " bytes but dtype "
              + dtype
              + " with shape "
              + Arrays.toString(shape)
              + " needs "
              + expectedBytes);
    }
    data = data.slice().asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * A float32 tensor holding a copy of {@code values}; {@code shape} must multiply to its length.
   */
  public static HostTensor ofFloats(float[] values, long... shape) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asFloatBuffer().put(values);
    return new HostTensor(DType.F32, shape, buffer);
  }

  /**
   * An int64 tensor holding a copy of {@code values}; {@code shape} must multiply to its length.
   */
  public static HostTensor ofLongs(long[] values, long... shape) {
    ByteBuffer buffer = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
    buffer.asLongBuffer().put(values);
    return new HostTensor(DType.I64, shape, buffer);
  }

  /**
   * Number of elements: the product of the shape (1 for a scalar).
   *
   * @throws IllegalArgumentException if a dimension is negative
   * @throws ArithmeticException if the product overflows a long
   */
  public static long numelOf(long[] shape) {
    long n = 1;
    for (long dim : shape) {
      if (dim < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n = Math.multiplyExact(n, dim);
    }
    return n;
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  /** A read-only little-endian view of the elements, positioned at 0. */
  @Override
  public ByteBuffer data() {
    return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Number of elements. */
  public long numel() {
    return numelOf(shape);
  }

  /** Number of bytes of element data. */
  public long byteSize() {
    return data.capacity();
  }

  /** The elements converted to float (F16, BF16, F64 and integer types are converted). */
  public float[] toFloatArray() {
    int n = arrayLength();
    float[] out = new float[n];
    ByteBuffer b = data();
    switch (dtype) {
      case F32 -> b.asFloatBuffer().get(out);
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = halfToFloat(b.getShort(2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
        }
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) b.getDouble(8 * i);
        }
      }
      default -> {
        for (int i = 0; i < n; i++) {
          out[i] = integerAt(b, i);
        }
      }
    }
    return out;
  }

  /**
   * The elements as longs, for integer and bool tensors.
   *
   * @throws IllegalStateException for floating-point tensors (use {@link #toFloatArray()})
   */
  public long[] toLongArray() {
    if (dtype.isFloatingPoint()) {
      throw new IllegalStateException(
          "toLongArray() needs an integer or bool tensor, this one is "
              + dtype
              + "; use toFloatArray()");
    }
    int n = arrayLength();
    long[] out = new long[n];
    ByteBuffer b = data();
    for (int i = 0; i < n; i++) {
      out[i] = integerAt(b, i);
    }
    return out;
  }

  /** A float32 copy of this tensor (exact for F16 and BF16, rounded for F64 and integers). */
  public HostTensor toFloat32() {
    return dtype == DType.F32 ? this : ofFloats(toFloatArray(), shape);
  }

  /**
   * Copies the tensor into a new {@link NDArray} attached to {@code manager}, keeping the dtype.
   * The array owns its own copy, so in-place operations on it never touch this tensor.
   *
   * @throws UnsupportedOperationException for BF16: DJL 0.36's PyTorch engine aborts the whole JVM
   *     ("terminate called without an active exception") when it creates or casts to a bfloat16
   *     array, so use {@code toFloat32().toNDArray(manager)} instead
   */
  public NDArray toNDArray(NDManager manager) {
    if (dtype == DType.BF16) {
      throw new UnsupportedOperationException(
          "bfloat16 NDArrays crash DJL 0.36's PyTorch engine;"
              + " convert first with toFloat32().toNDArray(manager)");
    }
    ByteBuffer copy = manager.allocateDirect(Math.toIntExact(byteSize()));
    copy.put(data());
    copy.rewind();
    return manager.create(copy, new Shape(shape), dtype.djlType());
  }

  private int arrayLength() {
    long n = numel();
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalStateException(
          "tensor with " + n + " elements is too large for a Java array");
    }
    return (int) n;
  }

  private long integerAt(ByteBuffer b, int i) {
    return switch (dtype) {
      case I64 -> b.getLong(8 * i);
      case I32 -> b.getInt(4 * i);
      case I16 -> b.getShort(2 * i);
      case I8 -> b.get(i);
      case U8, BOOL -> b.get(i) & 0xff;
      default -> throw new IllegalStateException("not an integer dtype: " + dtype);
    };
  }

  /** IEEE 754 binary16 to float (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short half) {
    int bits = half & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exponent = (bits >>> 10) & 0x1f;
    int mantissa = bits & 0x3ff;
    if (exponent == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    if (exponent == 0) {
      float subnormal = mantissa * 0x1p-24f;
      return sign != 0 ? -subnormal : subnormal;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HostTensor other
        && dtype == other.dtype
        && Arrays.equals(shape, other.shape)
        && data.equals(other.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dtype, Arrays.hashCode(shape), data.hashCode());
  }

  @Override
  public String toString() {
    return "HostTensor[" + dtype + " " + Arrays.toString(shape) + ", " + byteSize() + " bytes]";
  }
}
