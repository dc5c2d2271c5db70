package io.github.neuronexplainer.debugger.api;

/** A token with its score and the score divided by the node's largest |score|. Immutable. */
public record TokenAndScalar(String token, double scalar, double normalizedScalar) {}
