package io.github.neuronexplainer.models;

/**
 * GPT-2 shape hyper-parameters (the original's {@code TransformerConfig}). Immutable.
 *
 * <p>TEMPORARY minimal version; replaced by the weights work.
 */
public record TransformerConfig(
    String enc,
    int ctxWindow,
    int dModel,
    int nLayers,
    int nHeads,
    double mAttn,
    double mMlp,
    double layerNormEpsilon,
    int nVocab) {

  public int dFf() {
    return (int) (dModel * mMlp);
  }

  public int dAttnQk() {
    return (int) (dModel * mAttn);
  }

  public int dAttnV() {
    return (int) (dModel * mAttn);
  }

  public int dHead() {
    return dAttnQk() / nHeads;
  }
}
