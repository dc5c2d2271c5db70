package io.github.neuronexplainer.models;

import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.models.hooks.HookPoint;
import io.github.neuronexplainer.models.hooks.Hooks;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What {@link Transformer#runWithCache} should run and record: prompts, the points whose forward
 * values and gradients to keep, an optional loss to back-propagate from, and extra hooks (e.g.
 * ablations). Immutable; build with {@link #builder()}.
 */
public record RunRequest(
    List<int[]> prompts,
    PadSide padSide,
    Set<HookPoint> forwardPoints,
    Set<HookPoint> gradientPoints,
    Set<Integer> layers,
    Loss loss,
    Hooks hooks) {

  public RunRequest {
    prompts = prompts.stream().map(int[]::clone).toList();
    forwardPoints = Set.copyOf(forwardPoints);
    gradientPoints = Set.copyOf(gradientPoints);
    layers = Set.copyOf(layers);
    if (!gradientPoints.isEmpty() && loss == null && !hooks.needsGradients()) {
      throw new IllegalArgumentException(
          "Gradients were requested at " + gradientPoints + " but no loss was given");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final List<int[]> prompts = new ArrayList<>();
    private PadSide padSide = PadSide.RIGHT;
    private final Set<HookPoint> forward = new LinkedHashSet<>();
    private final Set<HookPoint> gradients = new LinkedHashSet<>();
    private final Set<Integer> layers = new LinkedHashSet<>();
    private Loss loss;
    private Hooks hooks = Hooks.none();

    private Builder() {}

    public Builder prompt(int... tokens) {
      prompts.add(tokens.clone());
      return this;
    }

    public Builder prompts(Collection<int[]> tokenLists) {
      tokenLists.forEach(this::prompt);
      return this;
    }

    public Builder padSide(PadSide side) {
      this.padSide = side;
      return this;
    }

    /** Record forward values at these points. */
    public Builder forward(HookPoint... points) {
      forward.addAll(Arrays.asList(points));
      return this;
    }

    /** Record gradients (d loss / d tensor) at these points. */
    public Builder gradients(HookPoint... points) {
      gradients.addAll(Arrays.asList(points));
      return this;
    }

    /** Record forward values (and gradients, when {@code withGradients}) of these locations. */
    public Builder locations(Collection<ActivationLocationType> locations, boolean withGradients) {
      for (ActivationLocationType location : locations) {
        HookPoint point = HookPoint.forLocation(location);
        forward.add(point);
        if (withGradients) {
          gradients.add(point);
        }
      }
      return this;
    }

    /** Every location the plain transformer produces, forward and (with a loss) backward. */
    public Builder allLocations(boolean withGradients) {
      List<ActivationLocationType> all = new ArrayList<>();
      for (ActivationLocationType location : ActivationLocationType.values()) {
        if (HookPoint.isStandardLocation(location)) {
          all.add(location);
        }
      }
      return locations(all, withGradients);
    }

    /** Record only these layers (default: all). Layer-less points are always recorded. */
    public Builder layers(Collection<Integer> layerIndices) {
      layers.addAll(layerIndices);
      return this;
    }

    public Builder loss(Loss loss) {
      this.loss = loss;
      return this;
    }

    /** Hooks that run before the recording ones at each point (ablations, edits, splices). */
    public Builder hooks(Hooks hooks) {
      this.hooks = hooks;
      return this;
    }

    public RunRequest build() {
      return new RunRequest(prompts, padSide, forward, gradients, layers, loss, hooks);
    }
  }
}
