package io.github.neuronexplainer.models.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter; {@code torch.optim.AdamW}):
 *
 * <pre>
 *   m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
 *   p ← p·(1 − lr·λ) − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε)
 * </pre>
 *
 * with weight decay λ applied only to the parameters named at construction (GPT-2 practice: the
 * matrices, not biases, layer-norm gains or position embeddings).
 *
 * <p>The moments live in this optimizer's own manager; {@link #close()} frees them. Updates run in
 * place, outside autograd (call {@link #step} after the backward pass, with grad mode off).
 *
 * <p>Thread-safety: not thread-safe; one training loop owns it.
 */
public final class AdamW implements AutoCloseable {
  private final double beta1;
  private final double beta2;
  private final double epsilon;
  private final double weightDecay;
  private final Set<String> decayed;
  private final NDManager manager;
  private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
  private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
  private int steps;

  /**
   * @param decayed names of the parameters that weight decay applies to
   */
  public AdamW(
      double beta1,
      double beta2,
      double epsilon,
      double weightDecay,
      Set<String> decayed,
      NDManager parent) {
    if (beta1 < 0 || beta1 >= 1 || beta2 < 0 || beta2 >= 1 || !(epsilon > 0) || weightDecay < 0) {
      throw new IllegalArgumentException(
          "AdamW needs 0 <= beta1, beta2 < 1, epsilon > 0 and weightDecay >= 0; got "
              + beta1
              + ", "
              + beta2
              + ", "
              + epsilon
              + ", "
              + weightDecay);
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
    this.decayed = Set.copyOf(decayed);
    this.manager = parent.newSubManager();
  }

  /** Updates completed so far (the {@code t} of the bias corrections). */
  public int steps() {
    return steps;
  }

  /**
   * One update of every parameter from its gradient, in place.
   *
   * @param parameters the parameters by name (updated in place)
   * @param gradients a gradient for each parameter, same shapes (read only)
   * @param learningRate this step's learning rate
   */
  public void step(
      Map<String, NDArray> parameters, Map<String, NDArray> gradients, double learningRate) {
    steps++;
    float correction1 = (float) (1 - Math.pow(beta1, steps));
    float correction2 = (float) (1 - Math.pow(beta2, steps));
    for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
      String name = e.getKey();
      NDArray p = e.getValue();
      NDArray g = gradients.get(name);
      if (g == null) {
        throw new IllegalArgumentException("No gradient for parameter '" + name + "'");
      }
      NDArray m = firstMoments.computeIfAbsent(name, k -> ownZeros(p));
      NDArray v = secondMoments.computeIfAbsent(name, k -> ownZeros(p));
      try (NDManager scratch = manager.newSubManager()) {
        NDArray gs = g.duplicate();
        gs.attach(scratch);
        m.muli(beta1).addi(gs.mul(1 - beta1));
        v.muli(beta2).addi(gs.square().muli(1 - beta2));
        NDArray denominator = v.div(correction2).sqrt().addi(epsilon);
        NDArray update = m.div(denominator).muli(learningRate / correction1);
        if (decayed.contains(name) && weightDecay > 0) {
          p.muli(1 - learningRate * weightDecay);
        }
        p.subi(update);
      }
    }
  }

  /** A zero moment owned by this optimizer, kept out of any caller's {@link NDScope}. */
  private NDArray ownZeros(NDArray like) {
    NDArray zeros = manager.zeros(like.getShape());
    NDScope.unregister(zeros);
    return zeros;
  }

  /**
   * The moments, named {@code exp_avg.<parameter>} and {@code exp_avg_sq.<parameter>} (the arrays
   * are this optimizer's: read only).
   */
  public Map<String, NDArray> state() {
    Map<String, NDArray> out = new LinkedHashMap<>();
    firstMoments.forEach((k, a) -> out.put("exp_avg." + k, a));
    secondMoments.forEach((k, a) -> out.put("exp_avg_sq." + k, a));
    return out;
  }

  /**
   * Restores moments saved with {@link #state()} and the step count (copies the arrays).
   *
   * @throws IllegalArgumentException if an entry is neither {@code exp_avg.*} nor {@code
   *     exp_avg_sq.*}
   */
  public void restore(Map<String, NDArray> state, int completedSteps) {
    for (Map.Entry<String, NDArray> e : state.entrySet()) {
      NDArray copy = e.getValue().duplicate();
      copy.attach(manager);
      NDScope.unregister(copy);
      String key = e.getKey();
      if (key.startsWith("exp_avg_sq.")) {
        secondMoments.put(key.substring("exp_avg_sq.".length()), copy);
      } else if (key.startsWith("exp_avg.")) {
        firstMoments.put(key.substring("exp_avg.".length()), copy);
      } else {
        throw new IllegalArgumentException(
            "Optimizer state entry '" + key + "' is neither exp_avg.* nor exp_avg_sq.*");
      }
    }
    this.steps = completedSteps;
  }

  @Override
  public void close() {
    manager.close();
  }
}
