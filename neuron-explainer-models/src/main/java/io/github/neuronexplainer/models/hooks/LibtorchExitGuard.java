package io.github.neuronexplainer.models.hooks;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the JVM's exit from tearing libtorch down under a pass that is still running in it.
 *
 * <p>When the JVM exits ({@code System.exit}, SIGTERM, Ctrl-C), it runs its shutdown hooks and then
 * C's {@code exit()}, which runs libtorch's static destructors. Among them are the accelerator
 * hooks singletons that the autograd engine consults for every node it runs ({@code
 * at::accelerator::getAccelerator}). A thread inside a JNI call is not stopped by the exit: a
 * backward pass still running calls through the freed singleton, and the JVM dies with SIGSEGV at
 * pc 0 in {@code getAccelerator} instead of exiting (issue 11: every such crash log shows a
 * "SIGTERM handler" thread and "VM state: at safepoint (shutting down)").
 *
 * <p>Passes run inside {@link #run}; this class's shutdown hook waits for the passes in flight (up
 * to {@value #EXIT_WAIT_SECONDS} s, then it logs and lets the exit go on) and lets no new pass
 * start, so {@code exit()} runs only after them. A pass that itself calls {@code System.exit}
 * therefore delays the exit by that wait. Many passes may run at once; the guard only excludes them
 * from the exit.
 */
public final class LibtorchExitGuard {
  private static final Logger LOG = LoggerFactory.getLogger(LibtorchExitGuard.class);
  private static final long EXIT_WAIT_SECONDS = 30;
  private static final ReentrantReadWriteLock LOCK = new ReentrantReadWriteLock();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(LibtorchExitGuard::closeBeforeExit, "libtorch-exit-guard"));
  }

  private LibtorchExitGuard() {}

  /**
   * Runs {@code pass} (work that calls into libtorch) so that the JVM's exit waits for it. Once the
   * JVM has begun to exit, a new pass blocks until the JVM halts.
   */
  public static <T> T run(Supplier<T> pass) {
    LOCK.readLock().lock();
    try {
      return pass.get();
    } finally {
      LOCK.readLock().unlock();
    }
  }

  /** The shutdown hook: takes the lock for good once the passes in flight are done. */
  private static void closeBeforeExit() {
    try {
      if (!LOCK.writeLock().tryLock(EXIT_WAIT_SECONDS, TimeUnit.SECONDS)) {
        LOG.warn(
            "The JVM is exiting while a pass is still running in libtorch after {} s; it may crash",
            EXIT_WAIT_SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
