package io.github.neuronexplainer.core.records;

import java.util.LinkedHashMap;

/**
 * A record that serialises like the original's {@code fast_dataclasses}: its fields in declaration
 * order, then {@code "dataclass_name"} last. See {@link FastDataclassJson}.
 */
public interface FastDataclass {
  /** The original Python class name, written as {@code dataclass_name}. */
  String dataclassName();

  /** Field name (Python spelling) to value, in declaration order. */
  LinkedHashMap<String, Object> fields();
}
