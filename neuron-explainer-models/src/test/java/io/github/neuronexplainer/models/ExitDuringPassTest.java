package io.github.neuronexplainer.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 11: a JVM that exits (System.exit, SIGTERM) while a pass runs inside libtorch must wait for
 * the pass, not crash with SIGSEGV in {@code at::accelerator::getAccelerator} after C's {@code
 * exit()} has run libtorch's static destructors. The passes run in a child JVM ({@link
 * ExitDuringBackward}) that exits from another thread.
 */
class ExitDuringPassTest {
  @Test
  void exitWaitsForThePassInFlight() throws IOException, InterruptedException {
    String log = runChild("forward");
    assertTrue(
        log.contains(ExitDuringBackward.BACKWARD_DONE), "the exit cut the pass short:\n" + log);
  }

  /**
   * Without the wait this crashes whenever the backward pass outlasts the JVM's own short wait for
   * threads in native code (about one run in three on a small machine).
   */
  @Test
  void exitDuringBackwardDoesNotCrash() throws IOException, InterruptedException {
    runChild("backward");
  }

  /** Runs the child, checks that it exited with its status and wrote no crash log; its output. */
  private static String runChild(String mode) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("exit-during-pass");
    Path output = dir.resolve("output.txt");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                java,
                "-Xmx256m",
                "-XX:ErrorFile=" + dir.resolve("hs_err_%p.log"),
                "-XX:-CreateCoredumpOnCrash",
                "-Dai.djl.offline=true",
                "-cp",
                System.getProperty("java.class.path"),
                ExitDuringBackward.class.getName(),
                mode)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    boolean exited = child.waitFor(5, TimeUnit.MINUTES);
    if (!exited) {
      child.destroyForcibly().waitFor();
    }
    String log = Files.readString(output, StandardCharsets.UTF_8);
    File[] crashes = dir.toFile().listFiles((d, name) -> name.startsWith("hs_err"));
    assertTrue(exited, "the child JVM did not exit:\n" + log);
    assertEquals(0, crashes == null ? 0 : crashes.length, "the child JVM crashed:\n" + log);
    assertEquals(ExitDuringBackward.EXIT_STATUS, child.exitValue(), log);
    Files.delete(output); // kept, with any crash log, when an assertion fails
    Files.delete(dir);
    return log;
  }
}
