package io.github.neuronexplainer.debugger.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Defensive copies that keep nulls (the original's lists hold nulls; {@code List.copyOf} refuses
 * them).
 */
final class Immutable {
  private Immutable() {}

  static <T> List<T> list(List<T> list) {
    return list == null ? null : Collections.unmodifiableList(new ArrayList<>(list));
  }

  static <T> List<T> listOrEmpty(List<T> list) {
    return list == null ? List.of() : list(list);
  }

  static <K, V> Map<K, V> map(Map<K, V> map) {
    return map == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(map));
  }

  static <K, V> Map<K, V> mapOrEmpty(Map<K, V> map) {
    return map == null ? Map.of() : map(map);
  }

  static <K, V> Map<K, V> mapValues(Map<K, V> map, Function<V, V> copy) {
    Map<K, V> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(k, copy.apply(v)));
    return Collections.unmodifiableMap(out);
  }

  static <T> T required(T value, String field, String type) {
    if (value == null) {
      throw new IllegalArgumentException(type + "." + field + " is required");
    }
    return value;
  }
}
