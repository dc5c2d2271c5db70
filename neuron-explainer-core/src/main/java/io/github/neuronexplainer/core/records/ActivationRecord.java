package io.github.neuronexplainer.core.records;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;

/**
 * Activations of one neuron (or latent, or attention head) on one token sequence. For attention
 * datasets the activations are per token pair, flattened as described in {@link AttentionUtils}.
 *
 * <p>Activation values keep the Python int/float distinction of the original data: {@link Long} or
 * {@link Integer} values are written as JSON integers, everything else as floats. This matters only
 * where the original prints them ({@code fast_dataclasses} JSON and the logprob-free simulator
 * prompt). Lengths are not validated, as in the original. Immutable and thread-safe.
 *
 * @param activations one value per token (or token pair)
 * @param tokens the token strings
 */
public record ActivationRecord(List<Number> activations, List<String> tokens)
    implements FastDataclass {
  public ActivationRecord {
    activations = Numbers.immutableCopy(activations, "activations");
    tokens = List.copyOf(Objects.requireNonNull(tokens, "tokens"));
  }

  /** Convenience factory with the usual (tokens, activations) argument order. */
  public static ActivationRecord of(List<String> tokens, List<? extends Number> activations) {
    return new ActivationRecord(new ArrayList<>(activations), tokens);
  }

  /** The activations as a primitive array. */
  public double[] activationArray() {
    return Numbers.toArray(activations);
  }

  @Override
  public String dataclassName() {
    return "ActivationRecord";
  }

  @Override
  public LinkedHashMap<String, Object> fields() {
    LinkedHashMap<String, Object> m = new LinkedHashMap<>();
    m.put("activations", activations);
    m.put("tokens", tokens);
    return m;
  }

  /** Helpers for number lists that keep int/float identity. */
  static final class Numbers {
    private Numbers() {}

    static List<Number> immutableCopy(List<? extends Number> values, String name) {
      Objects.requireNonNull(values, name);
      List<Number> copy = new ArrayList<>(values.size());
      for (Number n : values) {
        copy.add(n == null ? Double.NaN : n);
      }
      return Collections.unmodifiableList(copy);
    }

    static double[] toArray(List<? extends Number> values) {
      double[] out = new double[values.size()];
      for (int i = 0; i < out.length; i++) {
        out[i] = values.get(i).doubleValue();
      }
      return out;
    }
  }
}
