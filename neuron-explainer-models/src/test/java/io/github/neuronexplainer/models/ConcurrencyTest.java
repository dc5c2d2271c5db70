package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The thread contract of {@link Transformer}: N threads x M passes, with and without a loss and
 * with a gradient editor, give exactly what one thread gives.
 */
class ConcurrencyTest {
  private static final Transformer MODEL = TinyModel.MODEL;
  private static final int THREADS = 4;
  private static final int PASSES_PER_THREAD = 6;

  private static final List<RunRequest> REQUESTS =
      List.of(
          RunRequest.builder().prompt(464, 3139, 286, 4881, 318).allLocations(false).build(),
          RunRequest.builder()
              .prompt(464, 3139, 286, 4881, 318)
              .allLocations(true)
              .loss(Loss.logitDiff(6342, 3576))
              .build(),
          RunRequest.builder()
              .prompt(40, 588, 257, 3797)
              .allLocations(true)
              .loss(Loss.logitDiff(11, 13))
              .hooks(
                  Hooks.builder()
                      .editGradient(
                          HookPoint.MLP_POST_ACT,
                          List.of(0),
                          (g, c) -> g.mul(g.getManager().create(0.5f)))
                      .build())
              .build());

  /** Every cached tensor (and the logits and loss) of one pass, as plain arrays. */
  private static Map<String, float[]> run(RunRequest request) {
    Map<String, float[]> values = new TreeMap<>();
    try (NDManager m = NDManager.newBaseManager();
        ActivationCache cache = MODEL.runWithCache(request, m)) {
      cache.tensors().forEach((k, v) -> values.put(k.toString(), v.toFloatArray()));
      values.put("logits", cache.logits().toFloatArray());
      if (request.loss() != null) {
        values.put("loss", new float[] {cache.loss()});
      }
    }
    return values;
  }

  @Test
  void threadsGetWhatOneThreadGets() throws Exception {
    List<Map<String, float[]>> expected = new ArrayList<>();
    for (RunRequest r : REQUESTS) {
      expected.add(run(r));
    }
    assertTrue(expected.get(1).size() > expected.get(0).size(), "the loss adds gradients");
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Integer>> results = new ArrayList<>();
      for (int t = 0; t < THREADS; t++) {
        int thread = t;
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  int checked = 0;
                  for (int i = 0; i < PASSES_PER_THREAD; i++) {
                    int which = (thread + i) % REQUESTS.size();
                    Map<String, float[]> got = run(REQUESTS.get(which));
                    Map<String, float[]> want = expected.get(which);
                    assertEquals(want.keySet(), got.keySet());
                    for (String key : want.keySet()) {
                      assertArrayEquals(want.get(key), got.get(key), key + " on thread " + thread);
                      checked++;
                    }
                  }
                  return checked;
                }));
      }
      start.countDown();
      int total = 0;
      for (Future<Integer> f : results) {
        total += f.get(120, TimeUnit.SECONDS);
      }
      assertTrue(total > THREADS * PASSES_PER_THREAD, "compared " + total + " tensors");
    } finally {
      pool.shutdownNow();
    }
  }
}
