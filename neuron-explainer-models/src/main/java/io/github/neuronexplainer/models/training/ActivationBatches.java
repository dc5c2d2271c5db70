package io.github.neuronexplainer.models.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A stream of activation batches for {@link TopKSaeTrainer}: each call returns {@code [batch,
 * nInputs]} float32 rows, attached to the given manager. See {@link ModelActivationBatches} for
 * activations streamed from a model.
 */
@FunctionalInterface
public interface ActivationBatches {
  /** The next {@code batchSize} rows, owned by {@code manager}. */
  NDArray next(int batchSize, NDManager manager);
}
