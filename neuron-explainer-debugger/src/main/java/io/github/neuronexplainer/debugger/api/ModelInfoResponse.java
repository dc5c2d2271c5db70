package io.github.neuronexplainer.debugger.api;

/**
 * The model's name and layer count, and which autoencoders are loaded (their names echoed as
 * configured). Immutable and thread-safe.
 */
public record ModelInfoResponse(
    String modelName,
    boolean hasMlpAutoencoder,
    String mlpAutoencoderName,
    boolean hasAttentionAutoencoder,
    String attentionAutoencoderName,
    int nLayers) {}
