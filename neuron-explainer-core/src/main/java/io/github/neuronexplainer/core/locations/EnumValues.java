package io.github.neuronexplainer.core.locations;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Lookup of an enum constant by the original's string value. */
public final class EnumValues {
  private EnumValues() {}

  /**
   * Returns the constant of {@code type} whose value is {@code value}.
   *
   * @throws IllegalArgumentException naming the valid values when none matches
   */
  public static <E extends Enum<E>> E fromValue(
      Class<E> type, String value, Function<E, String> valueOf) {
    for (E e : type.getEnumConstants()) {
      if (valueOf.apply(e).equals(value)) {
        return e;
      }
    }
    throw new IllegalArgumentException(
        "Unknown "
            + type.getSimpleName()
            + " value '"
            + value
            + "'; valid values: "
            + Arrays.stream(type.getEnumConstants())
                .map(valueOf)
                .collect(Collectors.joining(", ")));
  }
}
