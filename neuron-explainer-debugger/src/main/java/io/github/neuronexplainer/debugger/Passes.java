package io.github.neuronexplainer.debugger;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.debugger.api.AblationSpec;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.derived.Ablation;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.models.derived.PromptRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * The one place the debugger calls the derived-scalar runner: the prompts of a batch, each with its
 * loss, trace, ablations and DSTs, and per prompt the raw activations, the loss and the traced
 * value.
 */
final class Passes {
  private Passes() {}

  /** One prompt of a batch. */
  record Prompt(
      int[] tokens,
      Loss loss,
      TraceConfig trace,
      List<AblationSpec> ablations,
      List<DstAndConfig> dsts) {}

  /**
   * What a prompt's run gives: its stores (owned), the loss and the traced value (NaN when absent).
   */
  record Result(PromptDerivedScalars stores, float loss, float tracedValue) {}

  /**
   * Runs the prompts in one batched pass.
   *
   * @throws DebuggerException INDEX_OUT_OF_RANGE for an index the runner refuses, UNSUPPORTED for a
   *     DST or trace it cannot compute
   */
  static List<Result> run(
      Transformer model,
      List<AutoencoderContext> autoencoders,
      List<Prompt> prompts,
      NDManager owner) {
    List<PromptRequest> requests = new ArrayList<>();
    for (Prompt prompt : prompts) {
      PromptRequest.Builder builder =
          PromptRequest.builder(prompt.tokens()).loss(prompt.loss()).trace(prompt.trace());
      for (AblationSpec ablation : prompt.ablations()) {
        builder.ablation(new Ablation(ablation.index(), (float) ablation.value()));
      }
      requests.add(builder.dsts(prompt.dsts()).build());
    }
    List<PromptDerivedScalars> stores;
    try {
      stores = DerivedScalarComputation.run(model, autoencoders, requests, owner);
    } catch (UnsupportedDerivationException | UnsupportedOperationException e) {
      throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED, e.getMessage(), e);
    } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new DebuggerException(DebuggerException.Kind.INDEX_OUT_OF_RANGE, e.getMessage(), e);
    }
    List<Result> results = new ArrayList<>();
    stores.forEach(s -> results.add(new Result(s, s.loss(), s.tracedValue())));
    return results;
  }
}
