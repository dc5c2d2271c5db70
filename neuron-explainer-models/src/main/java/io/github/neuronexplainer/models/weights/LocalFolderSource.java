package io.github.neuronexplainer.models.weights;

import io.github.neuronexplainer.core.io.SafePaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Weight files in a local folder; {@link #fetch} just resolves the path and checks it exists.
 *
 * <p>Thread-safety: immutable, safe for concurrent use.
 */
public final class LocalFolderSource implements WeightSource {
  private final Path root;

  public LocalFolderSource(Path root) {
    this.root = Objects.requireNonNull(root, "root").toAbsolutePath().normalize();
  }

  public Path root() {
    return root;
  }

  @Override
  public Path fetch(String relativePath, DownloadProgress progress) {
    Path file = resolve(relativePath);
    if (!Files.isRegularFile(file)) {
      throw new WeightFetchException("weight file not found: " + file);
    }
    try {
      long size = Files.size(file);
      progress.update(size, size);
    } catch (IOException e) {
      throw new WeightFetchException("cannot read weight file " + file + ": " + e.getMessage(), e);
    }
    return file;
  }

  @Override
  public boolean exists(String relativePath) {
    return Files.isRegularFile(resolve(relativePath));
  }

  @Override
  public String describe(String relativePath) {
    return resolve(relativePath).toString();
  }

  private Path resolve(String relativePath) {
    return SafePaths.resolveInside(root, relativePath, "weight path");
  }

  @Override
  public String toString() {
    return "LocalFolderSource[" + root + "]";
  }
}
