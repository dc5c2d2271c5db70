package io.github.neuronexplainer.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The benchmark mains' shared parts: their command-line options, the original's timings from the
 * JSON line {@code bench_reference.py} prints (medians in ms per sequence length), and the markdown
 * table rows that put the original beside ours.
 *
 * <p>Immutable and thread-safe.
 */
final class BenchTable {
  /** The header of the table the rows belong to. */
  static final String HEADER =
      "| work | original | ours | original / ours | compute limit | limit / ours |\n"
          + "|---|---|---|---|---|---|";

  private final JsonNode reference; // null without --reference

  private BenchTable(JsonNode reference) {
    this.reference = reference;
  }

  /** Reads {@code --reference FILE} from {@code args}, if given. */
  static BenchTable fromArgs(String[] args) {
    String file = option(args, "--reference");
    if (file == null) {
      return new BenchTable(null);
    }
    try {
      JsonNode json = new ObjectMapper().readTree(Files.readString(Path.of(file)));
      if (!json.has("results")) {
        throw new IllegalArgumentException(
            file + " is not bench_reference.py's output: it has no \"results\" object");
      }
      return new BenchTable(json);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the reference timings " + file, e);
    }
  }

  /** The value after {@code name} in {@code args}, or null if absent. */
  static String option(String[] args, String name) {
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals(name)) {
        if (i + 1 == args.length) {
          throw new IllegalArgumentException("Option " + name + " needs a value");
        }
        return args[i + 1];
      }
    }
    return null;
  }

  /** Whether the flag {@code name} is present in {@code args}. */
  static boolean flag(String[] args, String name) {
    return Arrays.asList(args).contains(name);
  }

  /** The comma-separated sequence lengths of {@code --lengths}, default 64 and 256. */
  static List<Integer> lengths(String[] args) {
    String value = option(args, "--lengths");
    return value == null
        ? List.of(64, 256)
        : Arrays.stream(value.split(",")).map(String::trim).map(Integer::valueOf).toList();
  }

  /** Which torch ran the original, for the table's caption; empty without a reference. */
  String referenceDescription() {
    if (reference == null) {
      return "";
    }
    return "original: torch "
        + reference.path("torch").asText("?")
        + ", "
        + reference.path("threads").asText("?")
        + " threads";
  }

  /**
   * The original's median of {@code key} at {@code tokens} tokens in ms, or NaN if there is no
   * reference or it lacks the entry.
   */
  double original(int tokens, String key) {
    if (reference == null) {
      return Double.NaN;
    }
    JsonNode value = reference.path("results").path(String.valueOf(tokens)).path(key);
    return value.isNumber() ? value.asDouble() : Double.NaN;
  }

  /** A table row; NaN figures print as blanks. {@code limitMs} is the compute (or memory) bound. */
  static String row(String work, double originalMs, double oursMs, double limitMs) {
    return "| "
        + work
        + " | "
        + ms(originalMs)
        + " | "
        + ms(oursMs)
        + " | "
        + ratio(originalMs / oursMs)
        + " | "
        + ms(limitMs)
        + " | "
        + fraction(limitMs / oursMs)
        + " |";
  }

  /** A table row of free-form cells. */
  static String row(String... cells) {
    return "| " + String.join(" | ", cells) + " |";
  }

  static String ms(double value) {
    return Double.isNaN(value) ? "" : String.format("%.1f ms", value);
  }

  static String ratio(double value) {
    return Double.isNaN(value) ? "" : String.format("%.2fx", value);
  }

  static String fraction(double value) {
    return Double.isNaN(value) ? "" : String.format("%.2f", value);
  }
}
