package io.github.neuronexplainer.debugger.json;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.KeyDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.indexing.ActivationIndex;
import io.github.neuronexplainer.core.derived.indexing.AttentionTraceType;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.PreOrPostAct;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.Dimension;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.DebuggerException;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsResponseData;
import io.github.neuronexplainer.debugger.api.DerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.DerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.GroupId;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.ProcessingRequestSpec;
import io.github.neuronexplainer.debugger.api.ProcessingResponseData;
import io.github.neuronexplainer.debugger.api.ResponseDataType;
import io.github.neuronexplainer.debugger.api.ScoredTokensRequestSpec;
import io.github.neuronexplainer.debugger.api.ScoredTokensResponseData;
import io.github.neuronexplainer.debugger.api.SpecType;
import io.github.neuronexplainer.debugger.api.TensorND;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionRequestSpec;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionResponseData;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The original's JSON form of the debugger's requests and responses: camelCase fields, enums and
 * enum map keys as their value strings, node and activation indices as the original's {@code
 * Mirrored*} forms ({@code "All"} for a null activation tensor index, {@code null} for a layer-less
 * node). Writing produces what the original's server writes: every field, defaults filled in,
 * {@code specType} / {@code responseDataType} / {@code tensorType} included. A request saved by a
 * user or by the original's front end reads back here.
 *
 * <p>Processing specs are resolved as the original resolves them. {@link #faithful()} (the default)
 * reproduces quirk 1: a {@code specType} in a request is refused (pydantic 1 accepts only the enum
 * member), and the kind is found structurally, first match in the order MultipleTopK,
 * DerivedScalars, DerivedAttentionScalars, ScoredTokens, TokenPairAttribution, so that an attention
 * spec inside a batched request reads as a DerivedScalars spec. {@link #lenient()} fixes it: a
 * {@code specType} decides the kind, and without one the structural rule applies.
 *
 * <p>Immutable and thread-safe.
 */
public final class DebuggerJson {
  private static final String ACCEPT_SPEC_TYPE = "acceptSpecType";
  private static final DebuggerJson FAITHFUL = new DebuggerJson(false);
  private static final DebuggerJson LENIENT = new DebuggerJson(true);

  private final ObjectMapper mapper;

  private DebuggerJson(boolean acceptSpecType) {
    this.mapper =
        JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            // pydantic 1 ignores fields a model does not declare
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .addModule(module())
            .build();
    this.mapper.setConfig(
        this.mapper.getDeserializationConfig().withAttribute(ACCEPT_SPEC_TYPE, acceptSpecType));
  }

  /** The original's reading rules (quirk 1 kept: a request's {@code specType} is refused). */
  public static DebuggerJson faithful() {
    return FAITHFUL;
  }

  /** As {@link #faithful()}, but a {@code specType} in a request decides the spec's kind. */
  public static DebuggerJson lenient() {
    return LENIENT;
  }

  /**
   * Reads {@code json} as {@code type}.
   *
   * @throws DebuggerException of kind MALFORMED_REQUEST, saying where and why
   */
  public <T> T read(String json, Class<T> type) {
    try {
      return mapper.readValue(json, type);
    } catch (JsonProcessingException e) {
      throw malformed(type, e);
    }
  }

  /** As {@link #read(String, Class)}, from a tree. */
  public <T> T read(JsonNode json, Class<T> type) {
    try {
      return mapper.treeToValue(json, type);
    } catch (JsonProcessingException | IllegalArgumentException e) {
      throw malformed(type, e);
    }
  }

  /** The original's JSON of {@code value} (a request, response or part of one). */
  public String write(Object value) {
    try {
      return mapper.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("Cannot write " + value.getClass().getSimpleName(), e);
    }
  }

  /** The original's JSON of {@code value}, as a tree. */
  public JsonNode toTree(Object value) {
    return mapper.valueToTree(value);
  }

  private static DebuggerException malformed(Class<?> type, Exception e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      if (root.getCause() instanceof DebuggerException d) {
        return d;
      }
      root = root.getCause();
    }
    String message =
        e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
    String path =
        e instanceof com.fasterxml.jackson.databind.JsonMappingException m
            ? m.getPathReference()
            : "";
    return new DebuggerException(
        DebuggerException.Kind.MALFORMED_REQUEST,
        "Cannot read a "
            + type.getSimpleName()
            + (path.isEmpty() ? "" : " at " + path)
            + ": "
            + (root != e && root.getMessage() != null ? root.getMessage() : message),
        e);
  }

  private static SimpleModule module() {
    SimpleModule m = new SimpleModule("neuron-explainer-debugger");
    valueEnum(m, DerivedScalarType.class, DerivedScalarType::value, DerivedScalarType::fromValue);
    valueEnum(m, NodeType.class, NodeType::value, NodeType::fromValue);
    valueEnum(m, PassType.class, PassType::value, PassType::fromValue);
    valueEnum(
        m,
        ActivationLocationType.class,
        ActivationLocationType::value,
        ActivationLocationType::fromValue);
    valueEnum(m, Dimension.class, Dimension::value, Dimension::fromValue);
    valueEnum(
        m, AttentionTraceType.class, AttentionTraceType::value, AttentionTraceType::fromValue);
    valueEnum(m, PreOrPostAct.class, PreOrPostAct::value, PreOrPostAct::fromValue);
    keyEnum(m, DerivedScalarType.class, DerivedScalarType::value, DerivedScalarType::fromValue);
    keyEnum(m, GroupId.class, GroupId::value, GroupId::fromValue);

    m.addSerializer(NodeIndex.class, serializer((node, gen) -> gen.writeObject(node.toMirrored())));
    m.addDeserializer(
        NodeIndex.class,
        deserializer((p, ctxt) -> p.readValueAs(NodeIndex.Mirrored.class).toNodeIndex()));
    m.addSerializer(
        ActivationIndex.class, serializer((index, gen) -> gen.writeObject(index.toMirrored())));
    m.addDeserializer(
        ActivationIndex.class,
        deserializer(
            (p, ctxt) -> p.readValueAs(ActivationIndex.Mirrored.class).toActivationIndex()));
    m.addSerializer(TraceConfig.class, serializer(DebuggerJson::writeTrace));
    m.addDeserializer(
        TraceConfig.class,
        deserializer((p, ctxt) -> p.readValueAs(MirroredTraceConfig.class).toTraceConfig()));

    m.addDeserializer(ProcessingRequestSpec.class, deserializer(DebuggerJson::readSpec));
    m.addDeserializer(ProcessingResponseData.class, deserializer(DebuggerJson::readResponseData));
    m.addDeserializer(TensorND.class, deserializer(DebuggerJson::readTensor));
    return m;
  }

  /** The original's {@code MirroredTraceConfig} (JSON only). */
  private record MirroredTraceConfig(
      NodeIndex nodeIndex,
      PreOrPostAct preOrPostAct,
      Boolean detachLayerNormScale,
      AttentionTraceType attentionTraceType,
      MirroredTraceConfig downstreamTraceConfig) {
    TraceConfig toTraceConfig() {
      if (nodeIndex == null || preOrPostAct == null || detachLayerNormScale == null) {
        throw new IllegalArgumentException(
            "A trace config needs nodeIndex, preOrPostAct and detachLayerNormScale");
      }
      return new TraceConfig(
          nodeIndex,
          preOrPostAct,
          detachLayerNormScale,
          attentionTraceType,
          downstreamTraceConfig == null ? null : downstreamTraceConfig.toTraceConfig());
    }
  }

  private static void writeTrace(TraceConfig trace, JsonGenerator gen) throws IOException {
    gen.writeStartObject();
    gen.writeObjectField("nodeIndex", trace.nodeIndex());
    gen.writeStringField("preOrPostAct", trace.preOrPostAct().value());
    gen.writeBooleanField("detachLayerNormScale", trace.detachLayerNormScale());
    gen.writeObjectField(
        "attentionTraceType",
        trace.attentionTraceType() == null ? null : trace.attentionTraceType().value());
    gen.writeObjectField("downstreamTraceConfig", trace.downstreamTraceConfig());
    gen.writeEndObject();
  }

  private static ProcessingRequestSpec readSpec(JsonParser p, DeserializationContext ctxt)
      throws IOException {
    ObjectNode node = p.readValueAs(ObjectNode.class);
    boolean acceptSpecType = Boolean.TRUE.equals(ctxt.getAttribute(ACCEPT_SPEC_TYPE));
    if (node.has("specType")) {
      SpecType type;
      try {
        type = SpecType.fromValue(node.path("specType").asText());
      } catch (IllegalArgumentException e) {
        throw new DebuggerException(DebuggerException.Kind.MALFORMED_REQUEST, e.getMessage(), e);
      }
      if (!acceptSpecType) {
        throw new DebuggerException(
            DebuggerException.Kind.MALFORMED_REQUEST,
            "specType '"
                + type.value()
                + "' given as a string: the original refuses it (pydantic 1 accepts"
                + " only the enum member; quirk 1). Leave specType out, or read with DebuggerJson.lenient()");
      }
      Class<? extends ProcessingRequestSpec> target =
          switch (type) {
            case MULTIPLE_TOP_K_DERIVED_SCALARS_REQUEST_SPEC ->
                MultipleTopKDerivedScalarsRequestSpec.class;
            case DERIVED_SCALARS_REQUEST_SPEC -> DerivedScalarsRequestSpec.class;
            case DERIVED_ATTENTION_SCALARS_REQUEST_SPEC -> DerivedAttentionScalarsRequestSpec.class;
            case SCORED_TOKENS_REQUEST_SPEC -> ScoredTokensRequestSpec.class;
            case TOKEN_PAIR_ATTRIBUTION_REQUEST_SPEC -> TokenPairAttributionRequestSpec.class;
            default ->
                throw new DebuggerException(
                    DebuggerException.Kind.MALFORMED_REQUEST,
                    "specType '" + type.value() + "' is not a processing spec");
          };
      return p.getCodec().treeToValue(node, target);
    }
    // Structural resolution, in the original's union order (DerivedAttentionScalars is never
    // reached: a DerivedScalars spec has the same required fields).
    List<String> tried = new ArrayList<>();
    for (Class<? extends ProcessingRequestSpec> candidate :
        List.of(
            MultipleTopKDerivedScalarsRequestSpec.class,
            DerivedScalarsRequestSpec.class,
            DerivedAttentionScalarsRequestSpec.class,
            ScoredTokensRequestSpec.class,
            TokenPairAttributionRequestSpec.class)) {
      try {
        return p.getCodec().treeToValue(node, candidate);
      } catch (IOException | IllegalArgumentException e) {
        tried.add(candidate.getSimpleName() + ": " + rootMessage(e));
      }
    }
    throw new DebuggerException(
        DebuggerException.Kind.MALFORMED_REQUEST,
        "Not a processing spec of any kind: " + String.join("; ", tried));
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t instanceof JsonProcessingException j ? j.getOriginalMessage() : t.getMessage();
  }

  private static ProcessingResponseData readResponseData(JsonParser p, DeserializationContext ctxt)
      throws IOException {
    ObjectNode node = p.readValueAs(ObjectNode.class);
    ResponseDataType type = ResponseDataType.fromValue(node.path("responseDataType").asText());
    Class<? extends ProcessingResponseData> target =
        switch (type) {
          case DERIVED_SCALARS_RESPONSE_DATA -> DerivedScalarsResponseData.class;
          case DERIVED_ATTENTION_SCALARS_RESPONSE_DATA -> DerivedAttentionScalarsResponseData.class;
          case MULTIPLE_TOP_K_DERIVED_SCALARS_RESPONSE_DATA ->
              MultipleTopKDerivedScalarsResponseData.class;
          case SCORED_TOKENS_RESPONSE_DATA -> ScoredTokensResponseData.class;
          case TOKEN_PAIR_ATTRIBUTION_RESPONSE_DATA -> TokenPairAttributionResponseData.class;
        };
    return p.getCodec().treeToValue(node, target);
  }

  private static TensorND readTensor(JsonParser p, DeserializationContext ctxt) throws IOException {
    ObjectNode node = p.readValueAs(ObjectNode.class);
    JsonNode value = node.path("value");
    return switch (node.path("tensorType").asText()) {
      case "tensor_0d" -> new TensorND.Tensor0D(value.asDouble());
      case "tensor_1d" -> new TensorND.Tensor1D(doubles(value));
      case "tensor_2d" -> {
        List<List<Double>> rows = new ArrayList<>();
        value.forEach(row -> rows.add(doubles(row)));
        yield new TensorND.Tensor2D(rows);
      }
      case "tensor_3d" -> {
        List<List<List<Double>>> matrices = new ArrayList<>();
        value.forEach(
            matrix -> {
              List<List<Double>> rows = new ArrayList<>();
              matrix.forEach(row -> rows.add(doubles(row)));
              matrices.add(rows);
            });
        yield new TensorND.Tensor3D(matrices);
      }
      default ->
          throw new IllegalArgumentException("Unknown tensorType " + node.path("tensorType"));
    };
  }

  private static List<Double> doubles(JsonNode list) {
    List<Double> out = new ArrayList<>(list.size());
    list.forEach(v -> out.add(v.asDouble()));
    return out;
  }

  @FunctionalInterface
  private interface Writer<T> {
    void write(T value, JsonGenerator gen) throws IOException;
  }

  @FunctionalInterface
  private interface Reader<T> {
    T read(JsonParser p, DeserializationContext ctxt) throws IOException;
  }

  private static <T> JsonSerializer<T> serializer(Writer<T> writer) {
    return new JsonSerializer<>() {
      @Override
      public void serialize(T value, JsonGenerator gen, SerializerProvider serializers)
          throws IOException {
        writer.write(value, gen);
      }
    };
  }

  private static <T> JsonDeserializer<T> deserializer(Reader<T> reader) {
    return new JsonDeserializer<>() {
      @Override
      public T deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        return reader.read(p, ctxt);
      }
    };
  }

  private static <E extends Enum<E>> void valueEnum(
      SimpleModule m, Class<E> type, Function<E, String> value, Function<String, E> fromValue) {
    m.addSerializer(type, serializer((e, gen) -> gen.writeString(value.apply(e))));
    m.addDeserializer(type, deserializer((p, ctxt) -> fromValue.apply(p.getValueAsString())));
  }

  private static <E extends Enum<E>> void keyEnum(
      SimpleModule m, Class<E> type, Function<E, String> value, Function<String, E> fromValue) {
    m.addKeySerializer(
        type,
        new JsonSerializer<E>() {
          @Override
          public void serialize(E e, JsonGenerator gen, SerializerProvider serializers)
              throws IOException {
            gen.writeFieldName(value.apply(e));
          }
        });
    m.addKeyDeserializer(
        type,
        new KeyDeserializer() {
          @Override
          public Object deserializeKey(String key, DeserializationContext ctxt) {
            return fromValue.apply(key);
          }
        });
  }
}
