package io.github.neuronexplainer.models.fuzz;

import java.util.Arrays;
import java.util.Random;

/**
 * Seeded byte-level mutations of a valid file, biased towards its first and last bytes, where
 * headers, length fields and zip directories live: bit flips, boundary bytes, 8-byte little-endian
 * lengths (-1, 2^31-1, 2^40, Long.MAX_VALUE), truncation, deleted, repeated and random ranges. A
 * few dozen lines instead of a property-testing engine: inputs are bytes, every failure message
 * carries the seed and the iteration that reproduce it, and nothing needs shrinking beyond that.
 */
final class Mutator {
  private static final byte[] BYTES = {
    0, 1, 0x7f, (byte) 0x80, (byte) 0xff, '"', '{', '}', '[', ']', ',', ':', '9', '-'
  };
  private static final long[] LENGTHS = {
    -1, 0, Integer.MAX_VALUE, 1L << 40, Long.MAX_VALUE, 0xffff_ffffL
  };

  private final Random random;

  Mutator(long seed) {
    random = new Random(seed);
  }

  byte[] mutate(byte[] seed) {
    byte[] b = seed.clone();
    int count = 1 + random.nextInt(4);
    for (int k = 0; k < count && b.length > 0; k++) {
      int at = position(b.length);
      switch (random.nextInt(7)) {
        case 0 -> b[at] ^= (byte) (1 << random.nextInt(8));
        case 1 -> b[at] = BYTES[random.nextInt(BYTES.length)];
        case 2 -> {
          long v = LENGTHS[random.nextInt(LENGTHS.length)];
          for (int i = 0; i < 8 && at + i < b.length; i++) {
            b[at + i] = (byte) (v >>> (8 * i));
          }
        }
        case 3 -> b = Arrays.copyOf(b, at);
        case 4 -> {
          int end = Math.min(b.length, at + 1 + random.nextInt(64));
          byte[] shorter = new byte[b.length - (end - at)];
          System.arraycopy(b, 0, shorter, 0, at);
          System.arraycopy(b, end, shorter, at, b.length - end);
          b = shorter;
        }
        case 5 -> {
          int len = Math.min(b.length - at, 1 + random.nextInt(64));
          byte[] longer = new byte[b.length + len];
          System.arraycopy(b, 0, longer, 0, at + len);
          System.arraycopy(b, at, longer, at + len, b.length - at);
          b = longer;
        }
        default -> {
          int len = Math.min(b.length - at, 1 + random.nextInt(16));
          for (int i = 0; i < len; i++) {
            b[at + i] = (byte) random.nextInt(256);
          }
        }
      }
    }
    return b;
  }

  private int position(int length) {
    int edge = Math.min(length, 512);
    return switch (random.nextInt(10)) {
      case 0, 1, 2, 3 -> random.nextInt(edge);
      case 4, 5, 6 -> length - 1 - random.nextInt(edge);
      default -> random.nextInt(length);
    };
  }
}
