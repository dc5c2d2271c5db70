package io.github.neuronexplainer.models;

/** Where pads go when prompts of unequal length are batched. */
public enum PadSide {
  /** Pads after the prompt (the original's forward passes for derived scalars). */
  RIGHT,
  /** Pads before the prompt (the original's sampling), so all prompts end at the last position. */
  LEFT
}
