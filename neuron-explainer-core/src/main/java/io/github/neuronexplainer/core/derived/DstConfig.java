package io.github.neuronexplainer.core.derived;

import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.core.model.ModelContext;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * How to compute a DST (the original's {@code DstConfig}). Build with {@link #builder()}; every
 * field is optional. Immutable and thread-safe (given thread-safe contexts).
 *
 * @param deriveGradients also compute the BACKWARD value (the gradient of the loss w.r.t. the DST)
 * @param modelContext weights and dimensions
 * @param layerIndices restrict the output to these layers (null = all; layer-less keys are kept)
 * @param autoencoderContext a single autoencoder family (wins over {@code multiAutoencoderContext})
 * @param multiAutoencoderContext several autoencoder families by node type
 * @param traceConfig the backward pass started from this node instead of a loss (null = a loss)
 * @param nodeIndexForAttentionWrite validated only; no DST uses it (quirk Q19)
 * @param activationIndexForFakeGrad the node whose gradient was set to one (VOCAB_TOKEN_*)
 * @param nodeIndexForAttribution the edge endpoint of the edge-attribution DSTs
 * @param detachLayerNormScaleForAttribution detach the layer-norm scale in edge attribution
 */
public record DstConfig(
    boolean deriveGradients,
    ModelContext modelContext,
    List<Integer> layerIndices,
    AutoencoderContext autoencoderContext,
    MultiAutoencoderContext multiAutoencoderContext,
    TraceConfig traceConfig,
    NodeIndex nodeIndexForAttentionWrite,
    ActivationIndex activationIndexForFakeGrad,
    NodeIndex nodeIndexForAttribution,
    boolean detachLayerNormScaleForAttribution) {

  public DstConfig {
    layerIndices = layerIndices == null ? null : List.copyOf(layerIndices);
    if (traceConfig != null && traceConfig.passType() != PassType.FORWARD) {
      throw new IllegalArgumentException(
          "trace_config.node_index.pass_type must be FORWARD, got " + traceConfig.passType());
    }
    if (nodeIndexForAttentionWrite != null
        && (nodeIndexForAttentionWrite.nodeType() != NodeType.ATTENTION_HEAD
            || nodeIndexForAttentionWrite.layerIndex() < 0)) {
      throw new IllegalArgumentException(
          "node_index_for_attention_write must be an attention head with a layer index");
    }
    if (activationIndexForFakeGrad != null
        && activationIndexForFakeGrad.passType() != PassType.BACKWARD) {
      throw new IllegalArgumentException("activation_index_for_fake_grad must be BACKWARD");
    }
    if (modelContext != null) {
      checkAgainstModel(
          modelContext,
          layerIndices,
          traceConfig,
          nodeIndexForAttentionWrite,
          activationIndexForFakeGrad,
          nodeIndexForAttribution);
    }
  }

  /**
   * Refuses layers, token positions, neurons, heads and residual channels outside the model (tokens
   * are checked against the context length; the runner checks them against the prompt).
   */
  private static void checkAgainstModel(
      ModelContext model,
      List<Integer> layerIndices,
      TraceConfig traceConfig,
      NodeIndex nodeIndexForAttentionWrite,
      ActivationIndex activationIndexForFakeGrad,
      NodeIndex nodeIndexForAttribution) {
    if (layerIndices != null) {
      for (Integer layer : layerIndices) {
        if (layer == null) {
          throw new IllegalArgumentException("layerIndices must not contain null: " + layerIndices);
        }
        checkLayer("layerIndices", layer, false, model);
      }
    }
    if (traceConfig != null) {
      checkNode(
          "traceConfig",
          traceConfig.nodeType(),
          traceConfig.tensorIndices(),
          traceConfig.layerIndex(),
          model);
    }
    if (nodeIndexForAttentionWrite != null) {
      checkNode(
          "nodeIndexForAttentionWrite",
          nodeIndexForAttentionWrite.nodeType(),
          nodeIndexForAttentionWrite.tensorIndices(),
          nodeIndexForAttentionWrite.layerIndex(),
          model);
    }
    if (nodeIndexForAttribution != null) {
      checkNode(
          "nodeIndexForAttribution",
          nodeIndexForAttribution.nodeType(),
          nodeIndexForAttribution.tensorIndices(),
          nodeIndexForAttribution.layerIndex(),
          model);
    }
    if (activationIndexForFakeGrad != null) {
      checkLayer(
          "activationIndexForFakeGrad", activationIndexForFakeGrad.layerIndex(), true, model);
    }
  }

  private static void checkLayer(String what, int layer, boolean layerLess, ModelContext model) {
    if (!(layerLess && layer == LayerIndex.NONE) && (layer < 0 || layer >= model.nLayers())) {
      throw new IllegalArgumentException(
          what
              + ": layer "
              + layer
              + " is out of range; the model has layers 0.."
              + (model.nLayers() - 1));
    }
  }

  private static void checkNode(
      String what, NodeType type, List<Integer> indices, int layer, ModelContext model) {
    checkLayer(what, layer, true, model);
    int n = indices.size();
    if (n == 0) {
      return;
    }
    checkIndex(what, "token", indices.get(0), () -> model.nContext());
    switch (type) {
      case MLP_NEURON -> {
        if (n >= 2) {
          checkIndex(what, "neuron", indices.get(1), model::nNeurons);
        }
      }
      case ATTENTION_HEAD -> {
        if (n == 3) {
          checkIndex(what, "attended-to token", indices.get(1), model::nContext);
        }
        if (n >= 2) {
          checkIndex(what, "head", indices.get(n - 1), model::nAttentionHeads);
        }
      }
      case RESIDUAL_STREAM_CHANNEL -> {
        if (n >= 2) {
          checkIndex(what, "residual channel", indices.get(1), model::nResidualStreamChannels);
        }
      }
      default -> {
        // Latent ranges depend on the autoencoder; the runner checks them.
      }
    }
  }

  private static void checkIndex(String what, String name, Integer index, IntSupplier size) {
    if (index == null) {
      return;
    }
    int n = size.getAsInt();
    if (index < 0 || index >= n) {
      throw new IllegalArgumentException(
          what + ": " + name + " index " + index + " is out of range; valid 0.." + (n - 1));
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder pre-filled with this config's values. */
  public Builder toBuilder() {
    return new Builder()
        .deriveGradients(deriveGradients)
        .modelContext(modelContext)
        .layerIndices(layerIndices)
        .autoencoderContext(autoencoderContext)
        .multiAutoencoderContext(multiAutoencoderContext)
        .traceConfig(traceConfig)
        .nodeIndexForAttentionWrite(nodeIndexForAttentionWrite)
        .activationIndexForFakeGrad(activationIndexForFakeGrad)
        .nodeIndexForAttribution(nodeIndexForAttribution)
        .detachLayerNormScaleForAttribution(detachLayerNormScaleForAttribution);
  }

  /** The pass types a deriver with this config computes. */
  public List<PassType> derivablePassTypes() {
    return deriveGradients
        ? List.of(PassType.FORWARD, PassType.BACKWARD)
        : List.of(PassType.FORWARD);
  }

  /**
   * @throws UnsupportedDerivationException when the DST needs weights but there is no model
   */
  public ModelContext requireModelContext(DerivedScalarType dst) {
    if (modelContext == null) {
      throw new UnsupportedDerivationException(
          dst + " needs model weights: set DstConfig.builder().modelContext(...)");
    }
    return modelContext;
  }

  /**
   * The original's {@code get_autoencoder_context(node_type)}: the single {@code
   * autoencoderContext} wins, then {@code multiAutoencoderContext}; null if neither is set.
   *
   * @throws UnsupportedDerivationException when a single context is needed but there are several,
   *     or when the single context has another node type than asked for
   */
  public AutoencoderContext autoencoderContext(NodeType nodeType) {
    AutoencoderContext context;
    if (autoencoderContext != null) {
      context = autoencoderContext;
    } else if (multiAutoencoderContext != null) {
      try {
        context = multiAutoencoderContext.autoencoderContext(nodeType);
      } catch (IllegalStateException e) {
        throw new UnsupportedDerivationException(e.getMessage());
      }
    } else {
      return null;
    }
    if (context != null
        && nodeType != null
        && nodeType != NodeType.AUTOENCODER_LATENT
        && context.nodeType() != nodeType) {
      throw new UnsupportedDerivationException(
          "This DST needs an autoencoder of node type "
              + nodeType
              + ", but the configured single autoencoder has node type "
              + context.nodeType()
              + ": configure an autoencoder of that kind (or a MultiAutoencoderContext)");
    }
    return context;
  }

  /** Builder of {@link DstConfig}. Not thread-safe. */
  public static final class Builder {
    private boolean deriveGradients;
    private ModelContext modelContext;
    private List<Integer> layerIndices;
    private AutoencoderContext autoencoderContext;
    private MultiAutoencoderContext multiAutoencoderContext;
    private TraceConfig traceConfig;
    private NodeIndex nodeIndexForAttentionWrite;
    private ActivationIndex activationIndexForFakeGrad;
    private NodeIndex nodeIndexForAttribution;
    private boolean detachLayerNormScaleForAttribution;

    private Builder() {}

    public Builder deriveGradients(boolean value) {
      this.deriveGradients = value;
      return this;
    }

    public Builder modelContext(ModelContext value) {
      this.modelContext = value;
      return this;
    }

    public Builder layerIndices(List<Integer> value) {
      this.layerIndices = value;
      return this;
    }

    public Builder autoencoderContext(AutoencoderContext value) {
      this.autoencoderContext = value;
      return this;
    }

    public Builder multiAutoencoderContext(MultiAutoencoderContext value) {
      this.multiAutoencoderContext = value;
      return this;
    }

    public Builder traceConfig(TraceConfig value) {
      this.traceConfig = value;
      return this;
    }

    public Builder nodeIndexForAttentionWrite(NodeIndex value) {
      this.nodeIndexForAttentionWrite = value;
      return this;
    }

    public Builder activationIndexForFakeGrad(ActivationIndex value) {
      this.activationIndexForFakeGrad = value;
      return this;
    }

    public Builder nodeIndexForAttribution(NodeIndex value) {
      this.nodeIndexForAttribution = value;
      return this;
    }

    public Builder detachLayerNormScaleForAttribution(boolean value) {
      this.detachLayerNormScaleForAttribution = value;
      return this;
    }

    public DstConfig build() {
      return new DstConfig(
          deriveGradients,
          modelContext,
          layerIndices,
          autoencoderContext,
          multiAutoencoderContext,
          traceConfig,
          nodeIndexForAttentionWrite,
          activationIndexForFakeGrad,
          nodeIndexForAttribution,
          detachLayerNormScaleForAttribution);
    }
  }
}
