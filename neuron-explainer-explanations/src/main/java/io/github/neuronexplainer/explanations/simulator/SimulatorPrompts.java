package io.github.neuronexplainer.explanations.simulator;

/** The simulators' literal system prompts (upstream text, blank lines included). */
final class SimulatorPrompts {
  private SimulatorPrompts() {}

  static final String ALL_AT_ONCE =
      "We're studying neurons in a neural network.\nEach neuron looks for some "
          + "particular thing in a short document.\nLook at summary of what the neuron does, and try to predict "
          + "how it will fire on each token.\n\nThe activation format is token<tab>activation, activations go from "
          + "0 to 10, \"unknown\" indicates an unknown activation. Most activations will be 0.\n";

  static final String TOKEN_BY_TOKEN =
      "We're studying neurons in a neural network. Each neuron looks for some "
          + "particular thing in a short document. Look at  an explanation of what the neuron does, and try to "
          + "predict its activations on a particular token.\n\nThe activation format is token<tab>activation, and "
          + "activations range from 0 to 10. Most activations will be 0.\n\n";

  static final String TOKEN_BY_TOKEN_SECOND =
      "Now, we're going predict the activation of a new neuron on a single "
          + "token, following the same rules as the examples above. Activations still range from 0 to 10.";

  static final String LOGPROB_FREE =
      "We're studying neurons in a neural network. Each neuron looks for certain "
          + "things in a short document. Your task is to read the explanation of what the neuron does, and predict "
          + "the neuron's activations for each token in the document.\n\nFor each document, you will see the full "
          + "text of the document, then the tokens in the document with the activation left blank. You will print, "
          + "in valid json, the exact same tokens verbatim, but with the activation values filled in according to "
          + "the explanation. Pay special attention to the explanation's description of the context and order of "
          + "tokens or words.\n\nFill out the activation values from 0 to 10. Please think carefully.\";\n";
}
