package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.locations.Dimension;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A sum over derived scalars that keeps some dimensions (the result of {@link
 * DerivedScalarStore#sum(io.github.neuronexplainer.core.locations.NodeType, List, List)}): a
 * row-major double tensor on the Java heap, with the dimensions it kept, in the DSTs' shape-spec
 * order. Zero kept dimensions is a scalar ({@link #scalar()}).
 *
 * <p>Immutable (accessors return copies) and thread-safe.
 */
public final class SummedScalars {
  private final List<Dimension> dimensions;
  private final long[] shape;
  private final double[] values;

  SummedScalars(List<Dimension> dimensions, long[] shape, double[] values) {
    this.dimensions = List.copyOf(dimensions);
    this.shape = shape.clone();
    this.values = values.clone();
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    if (dimensions.size() != shape.length || n != values.length) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shape)
              + " does not fit dimensions "
              + dimensions
              + " and "
              + values.length
              + " values");
    }
  }

  /** The kept dimensions, in tensor order. */
  public List<Dimension> dimensions() {
    return dimensions;
  }

  public long[] shape() {
    return shape.clone();
  }

  public int ndim() {
    return shape.length;
  }

  /** Row-major values (a copy). */
  public double[] values() {
    return values.clone();
  }

  /**
   * The value at a full index.
   *
   * @throws IndexOutOfBoundsException naming the valid range if an index is out of range
   */
  public double get(long... index) {
    if (index.length != shape.length) {
      throw new IllegalArgumentException(
          "need "
              + shape.length
              + " indices for shape "
              + Arrays.toString(shape)
              + ", got "
              + index.length);
    }
    long flat = 0;
    for (int d = 0; d < shape.length; d++) {
      if (index[d] < 0 || index[d] >= shape[d]) {
        throw new IndexOutOfBoundsException(
            dimensions.get(d).value() + " index " + index[d] + " is outside [0, " + shape[d] + ")");
      }
      flat = flat * shape[d] + index[d];
    }
    return values[(int) flat];
  }

  /**
   * The value of a 0-dimensional sum.
   *
   * @throws IllegalStateException if dimensions were kept
   */
  public double scalar() {
    if (shape.length != 0) {
      throw new IllegalStateException(
          "this sum kept " + dimensions + "; read it with get(...) or values()");
    }
    return values[0];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SummedScalars other
        && dimensions.equals(other.dimensions)
        && Arrays.equals(shape, other.shape)
        && Arrays.equals(values, other.values);
  }

  @Override
  public int hashCode() {
    return Objects.hash(dimensions, Arrays.hashCode(shape), Arrays.hashCode(values));
  }

  @Override
  public String toString() {
    return "SummedScalars[" + dimensions + " " + Arrays.toString(shape) + "]";
  }
}
