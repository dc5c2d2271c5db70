package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The child JVM of {@link ExitDuringPassTest}: runs backward passes over the tiny model in a loop
 * while another thread exits the JVM with status {@value #EXIT_STATUS}, as SIGTERM would. Mode
 * {@code backward}: the exit comes once a pass over eight full-context prompts is inside libtorch's
 * backward. Mode {@code forward}: the exit comes from the first pass's last forward hook, which
 * then waits half a second before the pass goes on; the pass's gradient reader prints {@value
 * #BACKWARD_DONE} once its backward pass is done.
 */
final class ExitDuringBackward {
  static final int EXIT_STATUS = 3;
  static final String BACKWARD_DONE = "backward pass done";

  private ExitDuringBackward() {}

  public static void main(String[] args) {
    boolean inBackward = args[0].equals("backward");
    Thread passes = Thread.currentThread();
    CountDownLatch exitNow = new CountDownLatch(1);
    Thread exiter =
        new Thread(
            () -> {
              if (inBackward) {
                while (!inBackward(passes)) {
                  Thread.onSpinWait();
                }
              } else {
                awaitUninterruptibly(exitNow);
              }
              System.exit(EXIT_STATUS);
            },
            "exiter");
    exiter.setDaemon(true);
    exiter.start();
    Hooks hooks =
        inBackward
            ? Hooks.none()
            : Hooks.builder()
                .forward(
                    HookPoint.LOGITS,
                    (x, ctx) -> {
                      exitNow.countDown();
                      sleepUninterruptibly(500); // the exit has begun meanwhile
                      return x;
                    })
                .readGradient(
                    HookPoint.RESID_POST_EMB,
                    (g, ctx) -> {
                      System.out.println(BACKWARD_DONE);
                      System.out.flush();
                    })
                .build();
    RunRequest request = request(hooks, inBackward ? 8 : 1);
    try (NDManager caller = NDManager.newBaseManager()) {
      while (true) {
        TinyModel.MODEL.runWithCache(request, caller).close();
      }
    }
  }

  /**
   * {@code count} full-context prompts with every gradient: with eight, the backward pass through
   * the unembedding takes long enough for the exit to run while it is still inside libtorch.
   */
  private static RunRequest request(Hooks hooks, int count) {
    List<int[]> prompts = new ArrayList<>();
    int ctx = TinyModel.MODEL.config().ctxWindow();
    for (int p = 0; p < count; p++) {
      int[] tokens = new int[ctx];
      for (int i = 0; i < ctx; i++) {
        tokens[i] = (p * 977 + i * 131) % 50000;
      }
      prompts.add(tokens);
    }
    return RunRequest.builder()
        .prompts(prompts)
        .allLocations(true)
        .loss(Loss.logitDiff(1, 2))
        .hooks(hooks)
        .build();
  }

  private static boolean inBackward(Thread thread) {
    StackTraceElement[] stack = thread.getStackTrace();
    return stack.length > 0 && stack[0].getMethodName().equals("torchBackward");
  }

  private static void awaitUninterruptibly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      throw new IllegalStateException("interrupted", e);
    }
  }

  private static void sleepUninterruptibly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      throw new IllegalStateException("interrupted", e);
    }
  }
}
