package io.github.neuronexplainer.models.hooks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs {@link Hooks} through one forward (and optional backward) pass.
 *
 * <p>DJL has no gradient hooks on intermediate tensors, so gradients are obtained with two autograd
 * tricks that leave upstream gradients intact:
 *
 * <ul>
 *   <li>a <b>reader</b> adds a zero leaf tensor ("probe") to the activation; after backward the
 *       probe's gradient equals d loss / d activation;
 *   <li>an <b>editor</b> cuts the graph: the pass continues from a detached leaf copy, and after
 *       the backward pass reaches it, the edited gradient is propagated from the original tensor
 *       with a second backward call. Cuts are processed in reverse forward order, so each one sees
 *       its complete gradient before passing it on.
 * </ul>
 *
 * <p>Not thread-safe: one pass, one thread (libtorch's grad mode is thread-local). Different passes
 * may run on different threads at once; their backward passes take turns on one JVM-wide lock,
 * since libtorch's autograd engine is shared by the whole process and DJL's gradient API is
 * JVM-wide (one gradient collector per JVM): the library does not rely on concurrent backward
 * passes being safe. The JVM's exit waits for a backward pass in flight ({@link
 * LibtorchExitGuard}).
 */
public final class HookedPass {
  private static final ReentrantLock BACKWARD_LOCK = new ReentrantLock();
  private final Hooks hooks;
  private final NDManager manager;
  private final boolean recordGradients;
  private final List<Probe> probes = new ArrayList<>();
  private final List<Cut> cuts = new ArrayList<>();
  private boolean backwardDone;

  private record Probe(NDArray leaf, GradientReader reader, Site site) {}

  private record Cut(NDArray original, NDArray leaf, GradientEditor editor, Site site) {}

  private final class Site implements HookContext {
    private final HookPoint point;
    private final int layer;

    Site(HookPoint point, int layer) {
      this.point = point;
      this.layer = layer;
    }

    @Override
    public HookPoint point() {
      return point;
    }

    @Override
    public int layer() {
      return layer;
    }

    @Override
    public NDManager passManager() {
      return manager;
    }

    @Override
    public NDArray runPoint(HookPoint other, NDArray x) {
      return at(other, layer, x);
    }
  }

  /**
   * @param hooks the hooks to run
   * @param manager owns the pass's intermediate tensors (the caller closes it)
   * @param recordGradients whether the pass records autograd history; required for gradient hooks
   *     and for {@link #backward}
   */
  public HookedPass(Hooks hooks, NDManager manager, boolean recordGradients) {
    if (hooks.needsGradients() && !recordGradients) {
      throw new IllegalArgumentException(
          "These hooks read or edit gradients, but the pass does not record gradients;"
              + " give a loss (or run with gradients enabled)");
    }
    this.hooks = hooks;
    this.manager = manager;
    this.recordGradients = recordGradients;
  }

  public Hooks hooks() {
    return hooks;
  }

  public NDManager manager() {
    return manager;
  }

  public boolean recordsGradients() {
    return recordGradients;
  }

  /** True if any hook at all is registered at {@code point}. */
  public boolean isHooked(HookPoint point) {
    return hooks.hasAny(point);
  }

  /**
   * Runs the hooks at {@code point}/{@code layer} on {@code x}; returns the tensor to go on with.
   */
  public NDArray at(HookPoint point, int layer, NDArray x) {
    if (hooks.isEmpty()) {
      return x;
    }
    Site site = new Site(point, layer);
    for (Hooks.Entry e : hooks.at(point, layer, Hooks.Stage.FORWARD)) {
      x = checked(e.forward().apply(x, site), x, site);
    }
    for (Hooks.Entry e : hooks.at(point, layer, Hooks.Stage.GRADIENT)) {
      if (e.reader() != null) {
        NDArray leaf = manager.zeros(x.getShape(), x.getDataType());
        leaf.setRequiresGradient(true);
        probes.add(new Probe(leaf, e.reader(), site));
        x = x.add(leaf);
      } else {
        NDArray leaf = x.stopGradient();
        leaf.setRequiresGradient(true);
        cuts.add(new Cut(x, leaf, e.editor(), site));
        x = leaf;
      }
    }
    for (Hooks.Entry e : hooks.at(point, layer, Hooks.Stage.SECOND_FORWARD)) {
      x = checked(e.forward().apply(x, site), x, site);
    }
    return x;
  }

  private static NDArray checked(NDArray result, NDArray input, Site site) {
    if (result == null) {
      throw new IllegalStateException(
          "A forward hook at " + site.point + " returned null; return the input to leave it as is");
    }
    if (!result.getShape().equals(input.getShape())) {
      throw new IllegalStateException(
          "A forward hook at "
              + site.point
              + " (layer "
              + site.layer
              + ") changed the shape from "
              + input.getShape()
              + " to "
              + result.getShape());
    }
    return result;
  }

  /**
   * Back-propagates from the scalar {@code loss}, applies gradient editors, then hands every reader
   * its gradient. May be called once per pass.
   */
  public void backward(NDArray loss) {
    if (!recordGradients) {
      throw new IllegalStateException("This pass did not record gradients");
    }
    if (backwardDone) {
      throw new IllegalStateException("backward() was already called for this pass");
    }
    backwardDone = true;
    if (loss.getShape().size() != 1) {
      throw new IllegalArgumentException("The loss must be a scalar, got shape " + loss.getShape());
    }
    LibtorchExitGuard.run(
        () -> {
          BACKWARD_LOCK.lock();
          try {
            backwardLocked(loss);
          } finally {
            BACKWARD_LOCK.unlock();
          }
          return null;
        });
  }

  private void backwardLocked(NDArray loss) {
    // Paths that bypass a cut (the residual stream) are traversed again from the cut's input, so
    // the graph is kept until the last backward call.
    runBackward(loss, loss.onesLike(), !cuts.isEmpty());
    for (int i = cuts.size() - 1; i >= 0; i--) {
      Cut cut = cuts.get(i);
      NDArray gradient = gradientOf(cut.leaf());
      NDArray edited = cut.editor().edit(gradient, cut.site());
      if (!edited.getShape().equals(gradient.getShape())) {
        throw new IllegalStateException(
            "A gradient editor at " + cut.site().point + " changed the shape of the gradient");
      }
      runBackward(cut.original(), edited, i > 0);
    }
    for (Probe probe : probes) {
      probe.reader().read(gradientOf(probe.leaf()), probe.site());
    }
  }

  private NDArray gradientOf(NDArray leaf) {
    NDArray gradient = leaf.getGradient();
    gradient.attach(manager);
    return gradient;
  }

  /** Back-propagates {@code seed} from {@code target}; nothing to do if it has no history. */
  private void runBackward(NDArray target, NDArray seed, boolean keepGraph) {
    if (probes.isEmpty() && cuts.isEmpty()) {
      return; // nothing upstream requires a gradient
    }
    try {
      JniUtils.backward((PtNDArray) target, (PtNDArray) seed, keepGraph, false);
    } catch (ai.djl.engine.EngineException e) {
      // DJL cannot ask a non-leaf whether it has autograd history without risking a native crash
      // (grad_fn of a plain tensor), so a tensor that does not depend on any probe shows up here.
      if (e.getMessage() == null || !e.getMessage().contains("does not require grad")) {
        throw e;
      }
    }
  }
}
