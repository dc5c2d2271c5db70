package io.github.neuronexplainer.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.LayerIndex;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.hooks.HookPoint;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Activations and gradients recorded by one {@link Transformer#runWithCache} call, with the batch
 * dimension first, plus the logits and the loss. Owns its tensors; close it when done.
 *
 * <p>Not thread-safe for closing; reads may be concurrent.
 */
public final class ActivationCache implements AutoCloseable {
  /** What a tensor is: a hook point, a layer ({@link LayerIndex#NONE} if none), a pass. */
  public record Key(HookPoint point, int layer, PassType pass) {
    @Override
    public String toString() {
      return (pass == PassType.FORWARD ? "fwd/" : "bwd/") + point + "/" + LayerIndex.format(layer);
    }
  }

  private static final int SHOWN_IN_TO_STRING = 8;

  private final NDManager manager;
  private final Map<Key, NDArray> tensors = new LinkedHashMap<>();
  private final TokenBatch batch;
  private NDArray logits;
  private Float loss;

  ActivationCache(NDManager parent, TokenBatch batch) {
    this.manager = parent.newSubManager();
    this.batch = batch;
  }

  NDManager manager() {
    return manager;
  }

  void put(Key key, NDArray value) {
    value.attach(manager);
    NDArray old = tensors.put(key, value);
    if (old != null) {
      old.close();
    }
  }

  void setLogits(NDArray logits) {
    logits.attach(manager);
    this.logits = logits;
  }

  void setLoss(float loss) {
    this.loss = loss;
  }

  /** The padded input. */
  public TokenBatch batch() {
    return batch;
  }

  /** Logits {@code [b, s, vocab]}. */
  public NDArray logits() {
    return logits;
  }

  /** The loss value, if a loss was given. */
  public float loss() {
    if (loss == null) {
      throw new IllegalStateException("No loss was given for this run");
    }
    return loss;
  }

  public boolean contains(HookPoint point, int layer, PassType pass) {
    return tensors.containsKey(new Key(point, layer, pass));
  }

  /**
   * The tensor at {@code point}/{@code layer} of {@code pass}, {@code [b, ...]}.
   *
   * @throws IllegalArgumentException naming what was recorded, when it was not recorded
   */
  public NDArray get(HookPoint point, int layer, PassType pass) {
    NDArray a = tensors.get(new Key(point, layer, pass));
    if (a == null) {
      throw new IllegalArgumentException(
          "Nothing recorded at "
              + new Key(point, layer, pass)
              + "; ask for it in the RunRequest (recorded: "
              + tensors.keySet()
              + ")");
    }
    return a;
  }

  /** {@link #get(HookPoint, int, PassType)} by activation location. */
  public NDArray get(ActivationLocationType location, int layer, PassType pass) {
    return get(
        HookPoint.forLocation(location), location.hasNoLayers() ? LayerIndex.NONE : layer, pass);
  }

  /** All recorded tensors, in recording order. */
  public Map<Key, NDArray> tensors() {
    return Collections.unmodifiableMap(tensors);
  }

  @Override
  public void close() {
    manager.close();
  }

  /**
   * The batch, the first {@value #SHOWN_IN_TO_STRING} recorded tensors with their shapes, the
   * number of the others, the logits' shape and the loss: {@code ActivationCache[TokenBatch[...], 3
   * tensors: fwd/mlp/post_act/0 (1, 5, 256), ..., logits (1, 5, 50257), loss 0.25]}.
   */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("ActivationCache[").append(batch).append(", ");
    sb.append(tensors.size()).append(tensors.size() == 1 ? " tensor" : " tensors");
    int shown = 0;
    for (Map.Entry<Key, NDArray> e : tensors.entrySet()) {
      if (shown == SHOWN_IN_TO_STRING) {
        sb.append(", ... (").append(tensors.size() - shown).append(" more)");
        break;
      }
      sb.append(shown == 0 ? ": " : ", ")
          .append(e.getKey())
          .append(' ')
          .append(e.getValue().getShape());
      shown++;
    }
    if (logits != null) {
      sb.append(", logits ").append(logits.getShape());
    }
    if (loss != null) {
      sb.append(", loss ").append(loss);
    }
    return sb.append(']').toString();
  }
}
