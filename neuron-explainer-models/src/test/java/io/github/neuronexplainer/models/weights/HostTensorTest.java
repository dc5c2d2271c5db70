package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class HostTensorTest {
  @Test
  void ofFloatsKeepsValuesAndShape() {
    HostTensor t = HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
    assertEquals(DType.F32, t.dtype());
    assertArrayEquals(new long[] {2, 3}, t.shape());
    assertEquals(6, t.numel());
    assertEquals(24, t.byteSize());
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());
    assertEquals("HostTensor[F32 [2, 3], 24 bytes]", t.toString());
  }

  @Test
  void constructorRejectsWrongByteCount() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new HostTensor(DType.F32, new long[] {2, 2}, ByteBuffer.allocate(12)));
    assertTrue(e.getMessage().contains("12 bytes"), e.getMessage());
    assertTrue(e.getMessage().contains("needs 16"), e.getMessage());
  }

  @Test
  void constructorRejectsNegativeDimension() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new HostTensor(DType.F32, new long[] {-1}, ByteBuffer.allocate(0)));
    assertTrue(e.getMessage().contains("negative dimension"), e.getMessage());
  }

  @Test
  void isImmutable() {
    long[] shape = {2};
    HostTensor t = HostTensor.ofFloats(new float[] {1, 2}, shape);
    shape[0] = 7;
    t.shape()[0] = 9;
    assertArrayEquals(new long[] {2}, t.shape());
    assertTrue(t.data().isReadOnly());
    ByteBuffer view = t.data();
    view.position(4);
    assertEquals(0, t.data().position());
  }

  @Test
  void scalarHasOneElement() {
    HostTensor scalar = HostTensor.ofFloats(new float[] {3.5f});
    assertEquals(1, scalar.numel());
    assertArrayEquals(new float[] {3.5f}, scalar.toFloatArray());
  }

  @Test
  void convertsHalfBfloatAndDouble() {
    ByteBuffer half = le(6);
    half.putShort((short) 0x3C00).putShort((short) 0xC000).putShort((short) 0x0001).flip();
    assertArrayEquals(
        new float[] {1f, -2f, 0x1p-24f},
        new HostTensor(DType.F16, new long[] {3}, half).toFloatArray());

    ByteBuffer bf16 = le(4);
    bf16.putShort((short) 0x3F80).putShort((short) 0x4049).flip();
    assertArrayEquals(
        new float[] {1f, Float.intBitsToFloat(0x40490000)},
        new HostTensor(DType.BF16, new long[] {2}, bf16).toFloatArray());

    ByteBuffer f64 = le(16);
    f64.putDouble(0.25).putDouble(-1e10).flip();
    assertArrayEquals(
        new float[] {0.25f, -1e10f}, new HostTensor(DType.F64, new long[] {2}, f64).toFloatArray());

    ByteBuffer inf = le(2);
    inf.putShort((short) 0x7C00).flip();
    assertEquals(
        Float.POSITIVE_INFINITY, new HostTensor(DType.F16, new long[] {1}, inf).toFloatArray()[0]);
  }

  @Test
  void integerTensorsGiveLongs() {
    HostTensor longs = HostTensor.ofLongs(new long[] {-5, 1L << 40}, 2);
    assertArrayEquals(new long[] {-5, 1L << 40}, longs.toLongArray());
    ByteBuffer u8 = le(2);
    u8.put((byte) 0xFF).put((byte) 1).flip();
    assertArrayEquals(
        new long[] {255, 1}, new HostTensor(DType.U8, new long[] {2}, u8).toLongArray());
    ByteBuffer i8 = le(1);
    i8.put((byte) 0xFF).flip();
    assertArrayEquals(new long[] {-1}, new HostTensor(DType.I8, new long[] {1}, i8).toLongArray());
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> HostTensor.ofFloats(new float[] {1}, 1).toLongArray());
    assertTrue(e.getMessage().contains("toFloatArray"), e.getMessage());
  }

  @Test
  void equalityComparesContent() {
    HostTensor a = HostTensor.ofFloats(new float[] {1, 2}, 2);
    HostTensor b = HostTensor.ofFloats(new float[] {1, 2}, 2);
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertNotEquals(a, HostTensor.ofFloats(new float[] {1, 3}, 2));
    assertNotEquals(a, HostTensor.ofFloats(new float[] {1, 2}, 1, 2));
  }

  @Test
  void toNdArrayCopiesWithDtypeAndShape() {
    HostTensor t = HostTensor.ofFloats(new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray array = t.toNDArray(manager);
      assertEquals(DataType.FLOAT32, array.getDataType());
      assertArrayEquals(new long[] {3, 2}, array.getShape().getShape());
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, array.toFloatArray());
      array.addi(10);
      assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray());

      NDArray longs = HostTensor.ofLongs(new long[] {7, 8}, 2).toNDArray(manager);
      assertEquals(DataType.INT64, longs.getDataType());
      assertArrayEquals(new long[] {7, 8}, longs.toLongArray());
    }
  }

  @Test
  void toNdArrayKeepsHalfPrecisionTypes() {
    ByteBuffer half = le(4);
    half.putShort((short) 0x3C00).putShort((short) 0xC000).flip();
    ByteBuffer bf16 = le(4);
    bf16.putShort((short) 0x3F80).putShort((short) 0xC000).flip();
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray f16 = new HostTensor(DType.F16, new long[] {2}, half).toNDArray(manager);
      assertEquals(DataType.FLOAT16, f16.getDataType());
      assertArrayEquals(new float[] {1, -2}, f16.toType(DataType.FLOAT32, false).toFloatArray());
      HostTensor b16 = new HostTensor(DType.BF16, new long[] {2}, bf16);
      UnsupportedOperationException e =
          assertThrows(UnsupportedOperationException.class, () -> b16.toNDArray(manager));
      assertTrue(e.getMessage().contains("toFloat32()"), e.getMessage());
      NDArray converted = b16.toFloat32().toNDArray(manager);
      assertEquals(DataType.FLOAT32, converted.getDataType());
      assertArrayEquals(new float[] {1, -2}, converted.toFloatArray());
    }
  }

  private static ByteBuffer le(int bytes) {
    return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }
}
