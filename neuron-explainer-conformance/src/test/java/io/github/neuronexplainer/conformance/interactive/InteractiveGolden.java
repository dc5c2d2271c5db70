package io.github.neuronexplainer.conformance.interactive;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.github.neuronexplainer.conformance.Pack;
import io.github.neuronexplainer.debugger.api.Endpoint;
import io.github.neuronexplainer.models.autoencoder.LazyAutoencoderContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.provider.Arguments;

/**
 * One case of a pack's {@code golden/interactive/} (see the harness README, "Interactive goldens"):
 * the request as sent, the original's response or error, the autoencoder setup and the top-k tie
 * records. {@link #cases()} lists every case of every pack under test; a pack without interactive
 * goldens yields one case that is skipped with the reason.
 */
record InteractiveGolden(Pack pack, String file, JsonNode json) {

  static Stream<Arguments> cases() {
    List<Arguments> args = new ArrayList<>();
    for (Pack pack : Pack.all()) {
      Path dir = pack.golden("interactive");
      if (!Files.isDirectory(dir)) {
        args.add(Arguments.of(pack, "(no golden/interactive/)"));
        continue;
      }
      try (Stream<Path> files = Files.list(dir)) {
        files
            .map(p -> p.getFileName().toString())
            .filter(
                n -> (n.endsWith(".json") || n.endsWith(".json.gz")) && !n.startsWith("manifest"))
            .sorted()
            .forEach(n -> args.add(Arguments.of(pack, n)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return args.stream();
  }

  /** The case, or a skipped test when the pack has no interactive goldens. */
  static InteractiveGolden load(Pack pack, String file) {
    Path dir = pack.golden("interactive");
    Assumptions.assumeTrue(
        Files.isDirectory(dir),
        pack
            + " has no golden/interactive/ (fixtures/l4-h3-d12 leaves them out to stay within the fixture budget;"
            + " run with -Dconformance.dir=<full pack>)");
    Path path = dir.resolve(file);
    try (InputStream in = Files.newInputStream(path)) {
      return new InteractiveGolden(
          pack, file, Pack.JSON.readTree(file.endsWith(".gz") ? new GZIPInputStream(in) : in));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + path, e);
    }
  }

  /** The SAE families of the manifest that an autoencoder setup of the harness injects. */
  static List<String> autoencoderFamilies(String setup) {
    return switch (setup) {
      case "none" -> List.of();
      case "mlp" -> List.of("mlp");
      case "attn" -> List.of("attn");
      case "mlp_attn" -> List.of("mlp", "attn");
      case "resid_mlp_attn" -> List.of("resid_mlp", "attn");
      default -> throw new IllegalArgumentException("Unknown autoencoder setup " + setup);
    };
  }

  /** An SAE family's context as the harness builds it: dead latents omitted, warmed up. */
  static LazyAutoencoderContext harnessAutoencoder(Pack pack, String family, NDManager manager) {
    LazyAutoencoderContext context =
        LazyAutoencoderContext.builder(pack.autoencoderFamily(family).safetensorsConfig())
            .baseDir(pack.data(""))
            .omitDeadLatents(true)
            .build(manager);
    context.warmup();
    return context;
  }

  Endpoint endpoint() {
    return Endpoint.fromRoute(json.path("endpoint").asText());
  }

  String setup() {
    return json.path("autoencoders").asText();
  }

  JsonNode request() {
    return json.path("request");
  }

  JsonNode response() {
    return json.path("response");
  }

  JsonNode error() {
    return json.path("error");
  }

  boolean isError() {
    return json.path("error").isObject();
  }

  @Override
  public String toString() {
    return pack + " " + file;
  }

  /**
   * Whether two JSON trees are equal, numbers compared as doubles (the original writes -999 as an
   * int and floats as doubles), object keys in any order. Returns null, or the first difference.
   */
  static String difference(String path, JsonNode expected, JsonNode actual) {
    if (expected.isNumber() && actual.isNumber()) {
      return expected.asDouble() == actual.asDouble()
          ? null
          : path + ": " + expected + " vs " + actual;
    }
    if (expected.isObject() && actual.isObject()) {
      for (Iterator<String> it = expected.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        if (!actual.has(key)) {
          return path + "." + key + ": missing";
        }
        String d = difference(path + "." + key, expected.get(key), actual.get(key));
        if (d != null) {
          return d;
        }
      }
      for (Iterator<String> it = actual.fieldNames(); it.hasNext(); ) {
        String key = it.next();
        if (!expected.has(key)) {
          return path + "." + key + ": unexpected";
        }
      }
      return null;
    }
    if (expected.isArray() && actual.isArray()) {
      if (expected.size() != actual.size()) {
        return path + ": " + expected.size() + " elements vs " + actual.size();
      }
      for (int i = 0; i < expected.size(); i++) {
        String d = difference(path + "[" + i + "]", expected.get(i), actual.get(i));
        if (d != null) {
          return d;
        }
      }
      return null;
    }
    return expected.equals(actual) ? null : path + ": " + expected + " vs " + actual;
  }
}
