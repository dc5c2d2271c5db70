// Loaded by ./jshell.sh after JShell's default imports. Defines context, model and manager.
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.github.neuronexplainer.core.locations.*;
import io.github.neuronexplainer.core.report.*;
import io.github.neuronexplainer.debugger.*;
import io.github.neuronexplainer.debugger.api.*;
import io.github.neuronexplainer.models.*;
import io.github.neuronexplainer.models.hooks.*;
import java.nio.file.Path;

var context = StandardModelContext.load(System.getProperty("neuronexplainer.jshell.model"));
var model = context.getOrCreateModel();
var manager = NDManager.newBaseManager(context.device());
System.out.println("Loaded " + context.modelName() + ": " + model.config());
System.out.println("Try: model.sampleText(List.of(\"The capital of France is\"), SamplingOptions.greedy(5), Hooks.none())");
