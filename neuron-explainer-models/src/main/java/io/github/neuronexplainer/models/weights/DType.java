package io.github.neuronexplainer.models.weights;

import ai.djl.ndarray.types.DataType;
import java.util.Arrays;
import java.util.Optional;

/**
 * Element types a weights file can hold, with their names in the safetensors header and in torch
 * pickles, and the matching DJL {@link DataType}.
 *
 * <p>Caution: with DJL 0.36 / libtorch 2.7.1 any bfloat16 NDArray (created or cast to) aborts the
 * JVM, so {@link HostTensor#toNDArray} refuses BF16; convert with {@link HostTensor#toFloat32()}.
 *
 * <p>Thread-safety: immutable enum, safe to share.
 */
public enum DType {
  F32(4, "F32", "FloatStorage", DataType.FLOAT32),
  F16(2, "F16", "HalfStorage", DataType.FLOAT16),
  BF16(2, "BF16", "BFloat16Storage", DataType.BFLOAT16),
  F64(8, "F64", "DoubleStorage", DataType.FLOAT64),
  I64(8, "I64", "LongStorage", DataType.INT64),
  I32(4, "I32", "IntStorage", DataType.INT32),
  I16(2, "I16", "ShortStorage", DataType.INT16),
  I8(1, "I8", "CharStorage", DataType.INT8),
  U8(1, "U8", "ByteStorage", DataType.UINT8),
  BOOL(1, "BOOL", "BoolStorage", DataType.BOOLEAN);

  private final int byteSize;
  private final String safetensorsName;
  private final String torchStorageClass;
  private final DataType djlType;

  DType(int byteSize, String safetensorsName, String torchStorageClass, DataType djlType) {
    this.byteSize = byteSize;
    this.safetensorsName = safetensorsName;
    this.torchStorageClass = torchStorageClass;
    this.djlType = djlType;
  }

  /** Bytes per element. */
  public int byteSize() {
    return byteSize;
  }

  /** The {@code dtype} string in a safetensors header, e.g. {@code "F32"}. */
  public String safetensorsName() {
    return safetensorsName;
  }

  /** The class name in module {@code torch}, e.g. {@code "FloatStorage"}. */
  public String torchStorageClass() {
    return torchStorageClass;
  }

  /** The DJL data type with the same layout. */
  public DataType djlType() {
    return djlType;
  }

  /** True for F32, F16, BF16 and F64. */
  public boolean isFloatingPoint() {
    return this == F32 || this == F16 || this == BF16 || this == F64;
  }

  /** The type whose safetensors name is {@code name}, if any. */
  public static Optional<DType> fromSafetensorsName(String name) {
    return Arrays.stream(values()).filter(d -> d.safetensorsName.equals(name)).findFirst();
  }

  /** The type stored by {@code torch.<className>}, if any. */
  public static Optional<DType> fromTorchStorageClass(String className) {
    return Arrays.stream(values()).filter(d -> d.torchStorageClass.equals(className)).findFirst();
  }

  /** The type named {@code torch.<name>} (e.g. {@code float32}, {@code bool}), if any. */
  public static Optional<DType> fromTorchDtypeName(String name) {
    return Arrays.stream(values()).filter(d -> d.torchDtypeName().equals(name)).findFirst();
  }

  /** The dtype attribute name in module {@code torch}, e.g. {@code "float32"}. */
  public String torchDtypeName() {
    return switch (this) {
      case F32 -> "float32";
      case F16 -> "float16";
      case BF16 -> "bfloat16";
      case F64 -> "float64";
      case I64 -> "int64";
      case I32 -> "int32";
      case I16 -> "int16";
      case I8 -> "int8";
      case U8 -> "uint8";
      case BOOL -> "bool";
    };
  }

  /** The type with the same layout as a DJL data type, if any. */
  public static Optional<DType> fromDjl(DataType dataType) {
    return Arrays.stream(values()).filter(d -> d.djlType == dataType).findFirst();
  }
}
