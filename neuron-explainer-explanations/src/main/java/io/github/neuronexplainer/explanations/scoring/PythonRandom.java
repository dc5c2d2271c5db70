package io.github.neuronexplainer.explanations.scoring;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * CPython's {@code random.Random} (MT19937, {@code seed(int)}, {@code getrandbits}, {@code
 * random.sample}) for the attention scorer's low-pair sampling, so a seeded run picks the same
 * pairs in the same order as the original. Not thread-safe; the scorer's sampler wrapper
 * synchronises.
 */
public final class PythonRandom implements AttentionHeadOneAtATimeScorer.Sampler {
  private final int[] mt = new int[624];
  private int index;

  /** {@code random.seed(seed)} for a non-negative int seed. */
  public PythonRandom(long seed) {
    long abs = Math.abs(seed);
    List<Integer> key = new ArrayList<>();
    do {
      key.add((int) (abs & 0xFFFFFFFFL));
      abs >>>= 32;
    } while (abs != 0);
    initByArray(key.stream().mapToInt(Integer::intValue).toArray());
  }

  private void initGenrand(int s) {
    mt[0] = s;
    for (int i = 1; i < 624; i++) {
      mt[i] = 1812433253 * (mt[i - 1] ^ (mt[i - 1] >>> 30)) + i;
    }
    index = 624;
  }

  private void initByArray(int[] key) {
    initGenrand(19650218);
    int i = 1;
    int j = 0;
    for (int k = Math.max(624, key.length); k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1664525)) + key[j] + j;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) {
        j = 0;
      }
    }
    for (int k = 623; k > 0; k--) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >>> 30)) * 1566083941)) - i;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    index = 624;
  }

  private int next32() {
    if (index >= 624) {
      for (int k = 0; k < 624; k++) {
        int y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ ((y & 1) != 0 ? 0x9908b0df : 0);
      }
      index = 0;
    }
    int y = mt[index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y;
  }

  /** {@code getrandbits(k)} for 1 ≤ k ≤ 32. */
  long getrandbits(int k) {
    return (next32() & 0xFFFFFFFFL) >>> (32 - k);
  }

  /** {@code _randbelow(n)}: rejection sampling on {@code n.bit_length()} bits. */
  int randbelow(int n) {
    int k = 32 - Integer.numberOfLeadingZeros(n);
    long r = getrandbits(k);
    while (r >= n) {
      r = getrandbits(k);
    }
    return (int) r;
  }

  /** {@code random.sample(population, k)}. */
  @Override
  public synchronized <T> List<T> sample(List<T> population, int k) {
    int n = population.size();
    if (k < 0 || k > n) {
      throw new IllegalArgumentException("Sample larger than population or is negative");
    }
    List<T> result = new ArrayList<>(k);
    int setsize = 21;
    if (k > 5) {
      setsize += (int) Math.pow(4, Math.ceil(Math.log(k * 3) / Math.log(4)));
    }
    if (n <= setsize) {
      List<T> pool = new ArrayList<>(population);
      for (int i = 0; i < k; i++) {
        int j = randbelow(n - i);
        result.add(pool.get(j));
        pool.set(j, pool.get(n - i - 1));
      }
    } else {
      Set<Integer> selected = new HashSet<>();
      for (int i = 0; i < k; i++) {
        int j = randbelow(n);
        while (selected.contains(j)) {
          j = randbelow(n);
        }
        selected.add(j);
        result.add(population.get(j));
      }
    }
    return result;
  }
}
