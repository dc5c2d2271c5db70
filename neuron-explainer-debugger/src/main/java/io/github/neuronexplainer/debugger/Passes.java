package io.github.neuronexplainer.debugger;

import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.Transformer;
import io.github.neuronexplainer.models.derived.DerivedScalarComputation;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import io.github.neuronexplainer.models.derived.PromptDerivedScalars;
import io.github.neuronexplainer.debugger.api.AblationSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The one place the debugger calls the derived-scalar runner: the prompts of a batch, each with its
 * loss, trace, ablations and DSTs, and per prompt the raw activations, the loss and the traced
 * value.
 */
final class Passes {
  private Passes() {}

  /** One prompt of a batch. */
  record Prompt(int[] tokens, Loss loss, TraceConfig trace, List<AblationSpec> ablations, List<DstAndConfig> dsts) {}

  /** What a prompt's run gives: its stores (owned), the loss and the traced value (NaN when absent). */
  record Result(PromptDerivedScalars stores, float loss, float tracedValue) {}

  static List<Result> run(
      Transformer model, List<AutoencoderContext> autoencoders, List<Prompt> prompts, NDManager owner) {
    List<Result> results = new ArrayList<>();
    try {
      for (Prompt prompt : prompts) {
        if (prompt.trace() != null || !prompt.ablations().isEmpty()) {
          throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED,
              "Traces and ablations need the batched runner (not merged yet)");
        }
        List<ScalarDeriver> derivers = new ArrayList<>();
        for (DstAndConfig dst : new LinkedHashSet<>(prompt.dsts())) {
          derivers.add(ScalarDerivers.makeScalarDeriver(dst.dst(), dst.config()));
        }
        PromptDerivedScalars stores =
            DerivedScalarComputation.derive(model, prompt.tokens(), prompt.loss(), autoencoders, derivers, owner);
        results.add(new Result(stores, stores.loss(), Float.NaN));
      }
      return results;
    } catch (RuntimeException e) {
      results.forEach(r -> r.stores().close());
      throw e;
    }
  }
}
