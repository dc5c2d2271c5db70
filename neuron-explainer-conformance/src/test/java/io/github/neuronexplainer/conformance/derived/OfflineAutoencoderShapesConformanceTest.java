package io.github.neuronexplainer.conformance.derived;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.conformance.PackFixture;
import io.github.neuronexplainer.conformance.PackFixtures;
import io.github.neuronexplainer.conformance.Scenario;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.SparseAutoencoder;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.RawActivationStore;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.models.autoencoder.Autoencoder;
import io.github.neuronexplainer.models.autoencoder.LatentActivation;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Offline autoencoders (AUTOENCODER_LATENT) on activations that are not (T, K): C7 reshapes them
 * into rows before encoding, (T, H, K) → (T, H·K) and (T, U, K) → the lower triangle of token pairs
 * (P, K). Checked against the autoencoder applied to rows built here by index, on the golden
 * activations of every pack, with a random ReLU autoencoder per layer.
 */
@ExtendWith(PackFixtures.class)
class OfflineAutoencoderShapesConformanceTest {

  static Stream<Arguments> packsAndInputs() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      for (ActivationLocationType input :
          List.of(
              ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES,
              ActivationLocationType.ATTN_QK_PROBS)) {
        args.add(Arguments.of(pack, input));
      }
    }
    return args.stream();
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("packsAndInputs")
  void latentsOfReshapedRows(Pack pack, ActivationLocationType input, PackFixtures fixtures) {
    PackFixture fixture = fixtures.of(pack);
    Pack.Prompt prompt = pack.prompts().get(0);
    try (NDManager manager = fixture.manager().newSubManager();
        RawActivationStore raw = fixture.rawStore(prompt, Scenario.LOSS_MLP_SAE)) {
      long[] perToken = raw.get(input, PassType.FORWARD).get(0).getShape().getShape();
      int nInputs = (int) perToken[perToken.length - 1];
      if (input == ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES) {
        nInputs *= (int) perToken[1];
      }
      int nLatents = 7;
      List<Autoencoder> autoencoders = new ArrayList<>();
      for (int layer = 0; layer < pack.nLayers(); layer++) {
        manager.getEngine().setRandomSeed(100 + layer);
        autoencoders.add(
            Autoencoder.of(
                manager.randomNormal(new Shape(nInputs)).mul(0.1f),
                manager.randomNormal(new Shape(nLatents, nInputs)),
                manager.randomNormal(new Shape(nLatents)).mul(0.1f),
                manager.randomNormal(new Shape(nInputs, nLatents)),
                LatentActivation.RELU,
                manager));
      }
      AutoencoderContext context = context(input, autoencoders);
      DstConfig config =
          DstConfig.builder().modelContext(fixture.model()).autoencoderContext(context).build();
      try (DerivedScalarStore store =
          DerivedScalarStore.deriveFromRaw(
              raw,
              List.of(
                  ScalarDerivers.makeScalarDeriver(DerivedScalarType.AUTOENCODER_LATENT, config)),
              manager)) {
        int nonzero = 0;
        for (int layer = 0; layer < pack.nLayers(); layer++) {
          NDArray x = raw.get(input, PassType.FORWARD).get(layer);
          NDArray expected = autoencoders.get(layer).encode(rows(x, input));
          NDArray actual =
              store.get(DerivedScalarType.AUTOENCODER_LATENT, PassType.FORWARD).get(layer);
          assertArrayEquals(
              expected.getShape().getShape(),
              actual.getShape().getShape(),
              input + " layer " + layer);
          assertArrayEquals(
              expected.toFloatArray(), actual.toFloatArray(), 1e-6f, input + " layer " + layer);
          nonzero += (int) actual.countNonzero().getLong();
        }
        assertTrue(nonzero > 0, "all latents zero: the comparison would not catch a wrong reshape");
      }
    }
  }

  /** The rows C7 encodes, built by index: (t, h·K + k) or lower-triangle pairs (t, u ≤ t). */
  private static NDArray rows(NDArray x, ActivationLocationType input) {
    long[] s = x.getShape().getShape();
    if (input == ActivationLocationType.ATTN_WEIGHTED_SUM_OF_VALUES) {
      return x.reshape(s[0], s[1] * s[2]);
    }
    List<NDArray> pairs = new ArrayList<>();
    for (int t = 0; t < s[0]; t++) {
      for (int u = 0; u <= t && u < s[1]; u++) {
        pairs.add(x.get(t, u));
      }
    }
    return NDArrays.stack(new NDList(pairs.toArray(NDArray[]::new)));
  }

  private static AutoencoderContext context(
      ActivationLocationType input, List<Autoencoder> autoencoders) {
    return new AutoencoderContext() {
      @Override
      public ActivationLocationType inputLocation() {
        return input;
      }

      @Override
      public NodeType nodeType() {
        return NodeType.AUTOENCODER_LATENT;
      }

      @Override
      public List<Integer> layers() {
        return IntStream.range(0, autoencoders.size()).boxed().toList();
      }

      @Override
      public SparseAutoencoder autoencoder(int layer) {
        return autoencoders.get(layer);
      }

      @Override
      public int numAutoencoderDirections() {
        return autoencoders.get(0).nLatents();
      }
    };
  }
}
