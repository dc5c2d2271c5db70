package io.github.neuronexplainer.explanations.explainer;

/**
 * numpy 1.24's default {@code np.argsort} for float64 ({@code kind="quicksort"}: introsort with
 * median-of-3 partitioning, insertion sort for partitions of at most 16 elements, heapsort when too
 * deep; NaN sorts last). Reproducing it keeps the original's order of tied activations. Stateless.
 */
final class NumpyArgsort {
  private static final int SMALL_QUICKSORT = 15;

  private NumpyArgsort() {}

  private static boolean less(double a, double b) {
    return a < b || (b != b && a == a);
  }

  /** Indices that sort {@code v} ascending, in numpy's order. */
  static int[] argsort(double[] v) {
    int num = v.length;
    int[] tosort = new int[num];
    for (int i = 0; i < num; i++) {
      tosort[i] = i;
    }
    if (num < 2) {
      return tosort;
    }
    int[] stack = new int[256];
    int[] depthStack = new int[128];
    int sptr = 0;
    int dptr = 0;
    int pl = 0;
    int pr = num - 1;
    int cdepth = msb(num) * 2;
    while (true) {
      boolean sorted = false;
      if (cdepth < 0) {
        heapsort(v, tosort, pl, pr - pl + 1);
        sorted = true;
      }
      while (!sorted && (pr - pl) > SMALL_QUICKSORT) {
        int pm = pl + ((pr - pl) >> 1);
        if (less(v[tosort[pm]], v[tosort[pl]])) {
          swap(tosort, pm, pl);
        }
        if (less(v[tosort[pr]], v[tosort[pm]])) {
          swap(tosort, pr, pm);
        }
        if (less(v[tosort[pm]], v[tosort[pl]])) {
          swap(tosort, pm, pl);
        }
        double vp = v[tosort[pm]];
        int pi = pl;
        int pj = pr - 1;
        swap(tosort, pm, pj);
        while (true) {
          do {
            ++pi;
          } while (less(v[tosort[pi]], vp));
          do {
            --pj;
          } while (less(vp, v[tosort[pj]]));
          if (pi >= pj) {
            break;
          }
          swap(tosort, pi, pj);
        }
        int pk = pr - 1;
        swap(tosort, pi, pk);
        if (pi - pl < pr - pi) {
          stack[sptr++] = pi + 1;
          stack[sptr++] = pr;
          pr = pi - 1;
        } else {
          stack[sptr++] = pl;
          stack[sptr++] = pi - 1;
          pl = pi + 1;
        }
        depthStack[dptr++] = --cdepth;
      }
      if (!sorted) {
        for (int pi = pl + 1; pi <= pr; ++pi) {
          int vi = tosort[pi];
          double vp = v[vi];
          int pj = pi;
          int pk = pi - 1;
          while (pj > pl && less(vp, v[tosort[pk]])) {
            tosort[pj--] = tosort[pk--];
          }
          tosort[pj] = vi;
        }
      }
      if (sptr == 0) {
        break;
      }
      pr = stack[--sptr];
      pl = stack[--sptr];
      cdepth = depthStack[--dptr];
    }
    return tosort;
  }

  private static int msb(int n) {
    int depth = 0;
    while ((n >>= 1) != 0) {
      depth++;
    }
    return depth;
  }

  private static void swap(int[] a, int i, int j) {
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }

  /** numpy's {@code aheapsort} on {@code tosort[offset .. offset+n)} (1-based heap indexing). */
  private static void heapsort(double[] v, int[] tosort, int offset, int n) {
    int base = offset - 1;
    for (int l = n >> 1; l > 0; --l) {
      int tmp = tosort[base + l];
      int i = l;
      for (int j = l << 1; j <= n; ) {
        if (j < n && less(v[tosort[base + j]], v[tosort[base + j + 1]])) {
          j += 1;
        }
        if (less(v[tmp], v[tosort[base + j]])) {
          tosort[base + i] = tosort[base + j];
          i = j;
          j += j;
        } else {
          break;
        }
      }
      tosort[base + i] = tmp;
    }
    while (n > 1) {
      int tmp = tosort[base + n];
      tosort[base + n] = tosort[base + 1];
      n -= 1;
      int i = 1;
      for (int j = 2; j <= n; ) {
        if (j < n && less(v[tosort[base + j]], v[tosort[base + j + 1]])) {
          j++;
        }
        if (less(v[tmp], v[tosort[base + j]])) {
          tosort[base + i] = tosort[base + j];
          i = j;
          j += j;
        } else {
          break;
        }
      }
      tosort[base + i] = tmp;
    }
  }
}
