package io.github.neuronexplainer.debugger.api;

import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * How to run the model for one prompt (the original's {@code InferenceRequestSpec}): the prompt,
 * ablations (null = none), the loss to back-propagate (null = none), an activation to trace back
 * from instead (null = none; with a loss too, the trace wins and the loss is still reported), and
 * the latent whose within-layer gradient some DSTs need.
 *
 * <p>Immutable and thread-safe. Build with {@link #builder(String)}.
 */
public record InferenceRequestSpec(
    String prompt,
    List<AblationSpec> ablationSpecs,
    LossFnConfig lossFnConfig,
    TraceConfig traceConfig,
    ActivationIndex activationIndexForWithinLayerGrad) {

  public InferenceRequestSpec {
    Immutable.required(prompt, "prompt", "InferenceRequestSpec");
    ablationSpecs = ablationSpecs == null ? null : List.copyOf(ablationSpecs);
  }

  public static Builder builder(String prompt) {
    return new Builder(prompt);
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final String prompt;
    private List<AblationSpec> ablationSpecs;
    private LossFnConfig lossFnConfig;
    private TraceConfig traceConfig;
    private ActivationIndex activationIndexForWithinLayerGrad;

    private Builder(String prompt) {
      this.prompt = prompt;
    }

    public Builder ablation(AblationSpec ablation) {
      if (ablationSpecs == null) {
        ablationSpecs = new ArrayList<>();
      }
      ablationSpecs.add(ablation);
      return this;
    }

    public Builder lossFnConfig(LossFnConfig value) {
      lossFnConfig = value;
      return this;
    }

    public Builder traceConfig(TraceConfig value) {
      traceConfig = value;
      return this;
    }

    public Builder activationIndexForWithinLayerGrad(ActivationIndex value) {
      activationIndexForWithinLayerGrad = value;
      return this;
    }

    public InferenceRequestSpec build() {
      return new InferenceRequestSpec(
          prompt, ablationSpecs, lossFnConfig, traceConfig, activationIndexForWithinLayerGrad);
    }
  }
}
