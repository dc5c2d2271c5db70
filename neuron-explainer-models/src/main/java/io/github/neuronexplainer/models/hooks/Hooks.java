package io.github.neuronexplainer.models.hooks;

import io.github.neuronexplainer.core.locations.LayerIndex;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * An immutable set of hooks to run during a pass: the original's {@code TransformerHooks}. At each
 * point, hooks run in three stages, as in the original's {@code FwdBwdHooks}: forward hooks (may
 * replace the tensor), then the gradient stage (readers and editors see d loss / d tensor of the
 * tensor produced by the forward hooks), then second-stage forward hooks (e.g. a spliced
 * autoencoder). Within a stage, hooks run in the order they were added. Each hook may be limited to
 * some layers (the original's {@code AtLayers}).
 *
 * <pre>{@code
 * Hooks hooks = Hooks.builder()
 *     .forward(HookPoint.MLP_POST_ACT, (x, ctx) -> x.zerosLike())     // zero-ablate all MLPs
 *     .readGradient(HookPoint.fromPath("resid/torso/post_mlp"), Set.of(1), (g, ctx) -> ...)
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe; the hooks themselves run on the thread of the pass.
 */
public final class Hooks {
  /** The stage of a hook at its point. */
  public enum Stage {
    FORWARD,
    GRADIENT,
    SECOND_FORWARD
  }

  /**
   * One registered hook: exactly one of {@code forward}, {@code reader}, {@code editor} is set.
   * {@code layers} empty means every layer.
   */
  public record Entry(
      HookPoint point,
      Stage stage,
      Set<Integer> layers,
      ForwardHook forward,
      GradientReader reader,
      GradientEditor editor) {
    public Entry {
      layers = Set.copyOf(layers);
    }

    boolean appliesTo(HookPoint p, int layer) {
      return point.equals(p) && (layers.isEmpty() || layers.contains(layer));
    }
  }

  private static final Hooks NONE = new Hooks(List.of());

  private final List<Entry> entries;

  private Hooks(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** No hooks. */
  public static Hooks none() {
    return NONE;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this set's hooks, to add more. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.entries.addAll(entries);
    return b;
  }

  /** This set's hooks followed by {@code other}'s. */
  public Hooks plus(Hooks other) {
    List<Entry> all = new ArrayList<>(entries);
    all.addAll(other.entries);
    return new Hooks(all);
  }

  public List<Entry> entries() {
    return entries;
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** True if any hook is registered at {@code point} (any layer, any stage). */
  public boolean hasAny(HookPoint point) {
    return entries.stream().anyMatch(e -> e.point().equals(point));
  }

  /** True if any hook reads or edits a gradient: the pass must then record autograd history. */
  public boolean needsGradients() {
    return entries.stream().anyMatch(e -> e.stage() == Stage.GRADIENT);
  }

  List<Entry> at(HookPoint point, int layer, Stage stage) {
    List<Entry> result = new ArrayList<>();
    for (Entry e : entries) {
      if (e.stage() == stage && e.appliesTo(point, layer)) {
        result.add(e);
      }
    }
    return result;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("Hooks[");
    for (Entry e : entries) {
      sb.append("\n  ").append(e.point()).append(' ').append(e.stage());
      if (!e.layers().isEmpty()) {
        sb.append(" at layers ").append(new TreeSet<>(e.layers()));
      }
    }
    return sb.append(entries.isEmpty() ? "]" : "\n]").toString();
  }

  /** Collects hooks; not thread-safe. */
  public static final class Builder {
    private final List<Entry> entries = new ArrayList<>();

    private Builder() {}

    public Builder forward(HookPoint point, ForwardHook hook) {
      return add(point, Stage.FORWARD, Set.of(), hook, null, null);
    }

    public Builder forward(HookPoint point, Collection<Integer> layers, ForwardHook hook) {
      return add(point, Stage.FORWARD, layers, hook, null, null);
    }

    public Builder readGradient(HookPoint point, GradientReader reader) {
      return add(point, Stage.GRADIENT, Set.of(), null, reader, null);
    }

    public Builder readGradient(
        HookPoint point, Collection<Integer> layers, GradientReader reader) {
      return add(point, Stage.GRADIENT, layers, null, reader, null);
    }

    public Builder editGradient(HookPoint point, GradientEditor editor) {
      return add(point, Stage.GRADIENT, Set.of(), null, null, editor);
    }

    public Builder editGradient(
        HookPoint point, Collection<Integer> layers, GradientEditor editor) {
      return add(point, Stage.GRADIENT, layers, null, null, editor);
    }

    public Builder secondForward(HookPoint point, ForwardHook hook) {
      return add(point, Stage.SECOND_FORWARD, Set.of(), hook, null, null);
    }

    public Builder secondForward(HookPoint point, Collection<Integer> layers, ForwardHook hook) {
      return add(point, Stage.SECOND_FORWARD, layers, hook, null, null);
    }

    public Builder addAll(Hooks hooks) {
      entries.addAll(hooks.entries);
      return this;
    }

    private Builder add(
        HookPoint point,
        Stage stage,
        Collection<Integer> layers,
        ForwardHook forward,
        GradientReader reader,
        GradientEditor editor) {
      if (point == null) {
        throw new IllegalArgumentException("hook point must not be null");
      }
      if (forward == null && reader == null && editor == null) {
        throw new IllegalArgumentException("hook at " + point + " must not be null");
      }
      if (!layers.isEmpty() && !point.perLayer()) {
        throw new IllegalArgumentException(
            point + " has no layers (it runs once per pass); don't give layers " + layers);
      }
      for (int layer : layers) {
        if (layer < 0 && layer != LayerIndex.NONE) {
          throw new IllegalArgumentException("Bad layer index " + layer + " for " + point);
        }
      }
      entries.add(new Entry(point, stage, Set.copyOf(layers), forward, reader, editor));
      return this;
    }

    public Hooks build() {
      return new Hooks(entries);
    }
  }
}
