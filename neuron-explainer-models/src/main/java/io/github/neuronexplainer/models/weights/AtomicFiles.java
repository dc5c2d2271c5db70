package io.github.neuronexplainer.models.weights;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Helpers that make a file appear under its final name only once it is complete. */
final class AtomicFiles {
  static final String TEMP_SUFFIX = ".part";
  private static final Logger LOG = LoggerFactory.getLogger(AtomicFiles.class);

  private AtomicFiles() {}

  /** A new empty temp file next to {@code target}, so that the final move stays on one disk. */
  static Path newTempFileFor(Path target) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    return Files.createTempFile(dir, "." + target.getFileName() + ".", TEMP_SUFFIX);
  }

  /** Renames {@code temp} to {@code target}, atomically where the file system allows it. */
  static void moveIntoPlace(Path temp, Path target) throws IOException {
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Deletes a leftover temp file; failure is logged, not thrown, so the original error wins. */
  static void deleteQuietly(Path path) {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      LOG.warn("could not delete temporary file {}: {}", path, e.toString());
    }
  }
}
