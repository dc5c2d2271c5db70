package io.github.neuronexplainer.debugger.api;

import java.util.Map;

/**
 * The answer for one sub-request: the run and, per spec name (request order), its data. Immutable
 * and thread-safe.
 */
public record InferenceResponseAndResponseDict(
    InferenceResponse inferenceResponse,
    Map<String, ProcessingResponseData> processingResponseDataByName) {

  public InferenceResponseAndResponseDict {
    Immutable.required(inferenceResponse, "inferenceResponse", "InferenceResponseAndResponseDict");
    processingResponseDataByName = Immutable.mapOrEmpty(processingResponseDataByName);
  }

  /**
   * The data of spec {@code name}, as {@code type}.
   *
   * @throws IllegalArgumentException if there is no such spec or it is of another type
   */
  public <T extends ProcessingResponseData> T data(String name, Class<T> type) {
    ProcessingResponseData data = processingResponseDataByName.get(name);
    if (!type.isInstance(data)) {
      throw new IllegalArgumentException(
          "No "
              + type.getSimpleName()
              + " named '"
              + name
              + "'; specs: "
              + processingResponseDataByName.keySet());
    }
    return type.cast(data);
  }
}
