package io.github.neuronexplainer.explanations.batch;

import io.github.neuronexplainer.core.records.NeuronId;

/**
 * Progress of a batch after one neuron finished. Immutable.
 *
 * @param finished neurons done in this run (succeeded + failed)
 * @param succeeded neurons explained and scored in this run
 * @param failed neurons that failed in this run
 * @param skipped neurons skipped because an earlier run finished them
 * @param total neurons in the batch
 * @param last the neuron that just finished
 * @param lastError its error message, or {@code null} on success
 */
public record BatchProgress(
    int finished,
    int succeeded,
    int failed,
    int skipped,
    int total,
    NeuronId last,
    String lastError) {}
