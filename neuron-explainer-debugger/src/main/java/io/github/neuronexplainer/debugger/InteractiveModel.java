package io.github.neuronexplainer.debugger;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import io.github.neuronexplainer.core.autoencoder.AutoencoderContext;
import io.github.neuronexplainer.core.autoencoder.MultiAutoencoderContext;
import io.github.neuronexplainer.core.derived.ActivationsAndMetadata;
import io.github.neuronexplainer.core.derived.DerivedScalarStore;
import io.github.neuronexplainer.core.derived.DerivedScalarType;
import io.github.neuronexplainer.core.derived.DstConfig;
import io.github.neuronexplainer.core.derived.MultiGroupDerivedScalarStore;
import io.github.neuronexplainer.core.derived.MultiGroupScalarDerivers;
import io.github.neuronexplainer.core.derived.ScalarDeriver;
import io.github.neuronexplainer.core.derived.ScalarDerivers;
import io.github.neuronexplainer.core.derived.UnsupportedDerivationException;
import io.github.neuronexplainer.core.derived.indexing.NodeIndex;
import io.github.neuronexplainer.core.derived.indexing.TraceConfig;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.core.locations.PassType;
import io.github.neuronexplainer.debugger.api.BatchedRequest;
import io.github.neuronexplainer.debugger.api.BatchedResponse;
import io.github.neuronexplainer.debugger.api.BatchedTdbRequest;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsRequest;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsResponse;
import io.github.neuronexplainer.debugger.api.DerivedAttentionScalarsResponseData;
import io.github.neuronexplainer.debugger.api.DerivedScalarsRequest;
import io.github.neuronexplainer.debugger.api.DerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.DerivedScalarsResponse;
import io.github.neuronexplainer.debugger.api.DerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.Endpoint;
import io.github.neuronexplainer.debugger.api.GroupId;
import io.github.neuronexplainer.debugger.api.InferenceAndTokenData;
import io.github.neuronexplainer.debugger.api.InferenceRequestSpec;
import io.github.neuronexplainer.debugger.api.InferenceResponse;
import io.github.neuronexplainer.debugger.api.InferenceResponseAndResponseDict;
import io.github.neuronexplainer.debugger.api.InferenceSubRequest;
import io.github.neuronexplainer.debugger.api.LossFnConfig;
import io.github.neuronexplainer.debugger.api.ModelInfoResponse;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsRequest;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsRequestSpec;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsResponse;
import io.github.neuronexplainer.debugger.api.MultipleTopKDerivedScalarsResponseData;
import io.github.neuronexplainer.debugger.api.ProcessingRequestSpec;
import io.github.neuronexplainer.debugger.api.ProcessingResponseData;
import io.github.neuronexplainer.debugger.api.ScoredTokensRequest;
import io.github.neuronexplainer.debugger.api.ScoredTokensRequestSpec;
import io.github.neuronexplainer.debugger.api.ScoredTokensResponse;
import io.github.neuronexplainer.debugger.api.ScoredTokensResponseData;
import io.github.neuronexplainer.debugger.api.TensorND;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionRequest;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionRequestSpec;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionResponse;
import io.github.neuronexplainer.debugger.api.TokenPairAttributionResponseData;
import io.github.neuronexplainer.debugger.api.TokenScoringType;
import io.github.neuronexplainer.debugger.api.TopTokens;
import io.github.neuronexplainer.debugger.api.TopTokensAttendedTo;
import io.github.neuronexplainer.debugger.json.DebuggerJson;
import io.github.neuronexplainer.debugger.postprocessing.AttentionScalarsNormalizer;
import io.github.neuronexplainer.debugger.postprocessing.TokenPairAttributionConverter;
import io.github.neuronexplainer.debugger.postprocessing.TokenReadConverter;
import io.github.neuronexplainer.debugger.postprocessing.TokenWriteConverter;
import io.github.neuronexplainer.debugger.postprocessing.TopTokensFinder;
import io.github.neuronexplainer.models.Loss;
import io.github.neuronexplainer.models.StandardModelContext;
import io.github.neuronexplainer.models.derived.DstAndConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Transformer Debugger's server logic as a library (the original's {@code InteractiveModel}): a
 * model context and optional autoencoders (at most one MLP and one attention family), and a handler
 * per debugger request. Every inference handler is a batch of one or more prompts run in one pass
 * ({@link #handleBatchedRequest}); the others convert to it.
 *
 * <pre>{@code
 * InteractiveModel debugger = InteractiveModel.builder(context).build();
 * BatchedResponse response = debugger.handleBatchedTdbRequest(BatchedTdbRequest.of(
 *     TdbRequestSpec.builder("The capital of France is").target(" Paris").distractor(" London").build()));
 * }</pre>
 *
 * <p>Responses reproduce the original's, quirks included ({@link DebuggerOptions#faithful()}; see
 * the module README for each quirk). Refusals are {@link DebuggerException}s whose kind says why
 * (and which HTTP status the original answers with).
 *
 * <p>Thread-safe: requests are served one at a time (as the original's server, which holds a lock
 * around each batched request); each request runs in its own {@link NDManager}, closed before the
 * handler returns, and the response holds no native memory. The model context and autoencoders are
 * the caller's and are not closed.
 */
public final class InteractiveModel {
  private static final Logger LOG = LoggerFactory.getLogger(InteractiveModel.class);
  private static final int PROMPT_LENGTH_LIMIT = 500;

  private final StandardModelContext context;
  private final String modelName;
  private final Map<NodeType, AutoencoderContext> autoencoders;
  private final Map<NodeType, String> autoencoderNames;
  private final MultiAutoencoderContext multiAutoencoder;
  private final DebuggerOptions options;
  private final TopTokensFinder topTokens;
  private final TokenWriteConverter tokenWrite;
  private final TokenReadConverter tokenRead;
  private final TokenPairAttributionConverter tokenPairs;
  private final ReentrantLock lock = new ReentrantLock();

  private InteractiveModel(Builder b) {
    this.context = b.context;
    this.modelName = b.modelName == null ? b.context.modelName() : b.modelName;
    this.autoencoders = Map.copyOf(b.autoencoders);
    this.autoencoderNames = Map.copyOf(b.names);
    this.multiAutoencoder =
        b.autoencoders.isEmpty() ? null : MultiAutoencoderContext.of(b.autoencoders.values());
    this.options = b.options;
    this.topTokens = new TopTokensFinder(context, options.excludedTopTokens());
    this.tokenWrite = new TokenWriteConverter(context, multiAutoencoder);
    this.tokenRead = new TokenReadConverter(context, multiAutoencoder);
    this.tokenPairs = new TokenPairAttributionConverter(multiAutoencoder);
  }

  /** A debugger over {@code context} with no autoencoder and every quirk kept. */
  public static Builder builder(StandardModelContext context) {
    return new Builder(context);
  }

  public StandardModelContext modelContext() {
    return context;
  }

  public DebuggerOptions options() {
    return options;
  }

  /** The original's {@code get_model_info}. */
  public ModelInfoResponse getModelInfo() {
    return new ModelInfoResponse(
        modelName,
        autoencoders.containsKey(NodeType.MLP_AUTOENCODER_LATENT),
        autoencoderNames.get(NodeType.MLP_AUTOENCODER_LATENT),
        autoencoders.containsKey(NodeType.ATTENTION_AUTOENCODER_LATENT),
        autoencoderNames.get(NodeType.ATTENTION_AUTOENCODER_LATENT),
        context.nLayers());
  }

  /**
   * Answers a request given as the original's JSON (read with {@code json}) and returns the
   * original's JSON of the response: a saved request of the original's front end replays here.
   *
   * @param requestJson ignored for {@link Endpoint#MODEL_INFO}
   * @throws DebuggerException for a request that does not parse or cannot be answered
   */
  public String handle(Endpoint endpoint, String requestJson, DebuggerJson json) {
    Object response =
        switch (endpoint) {
          case MODEL_INFO -> getModelInfo();
          case BATCHED -> handleBatchedRequest(json.read(requestJson, BatchedRequest.class));
          case BATCHED_TDB ->
              handleBatchedTdbRequest(json.read(requestJson, BatchedTdbRequest.class));
          case DERIVED_SCALARS ->
              getDerivedScalars(json.read(requestJson, DerivedScalarsRequest.class));
          case DERIVED_ATTENTION_SCALARS ->
              getDerivedAttentionScalars(
                  json.read(requestJson, DerivedAttentionScalarsRequest.class));
          case MULTIPLE_TOP_K_DERIVED_SCALARS ->
              getMultipleTopKDerivedScalars(
                  json.read(requestJson, MultipleTopKDerivedScalarsRequest.class));
          case SCORED_TOKENS -> getScoredTokens(json.read(requestJson, ScoredTokensRequest.class));
          case TOKEN_PAIR_ATTRIBUTION ->
              getTokenPairAttribution(json.read(requestJson, TokenPairAttributionRequest.class));
        };
    return json.write(response);
  }

  /** {@link #handle(Endpoint, String, DebuggerJson)} with {@link DebuggerJson#faithful()}. */
  public String handle(Endpoint endpoint, String requestJson) {
    return handle(endpoint, requestJson, DebuggerJson.faithful());
  }

  /** TDB requests side by side (the original's {@code handle_batched_tdb_request}). */
  public BatchedResponse handleBatchedTdbRequest(BatchedTdbRequest request) {
    List<InferenceSubRequest> subs = new ArrayList<>();
    request.subRequests().forEach(tdb -> subs.add(TdbConversions.toInferenceSubRequest(tdb)));
    return handleBatchedRequest(new BatchedRequest(subs));
  }

  public DerivedScalarsResponse getDerivedScalars(DerivedScalarsRequest request) {
    InferenceResponseAndResponseDict sub =
        single(
            request.inferenceRequestSpec(),
            "derived_scalars_request_spec",
            request.derivedScalarsRequestSpec());
    return new DerivedScalarsResponse(
        data(sub),
        (DerivedScalarsResponseData)
            sub.processingResponseDataByName().get("derived_scalars_request_spec"));
  }

  public DerivedAttentionScalarsResponse getDerivedAttentionScalars(
      DerivedAttentionScalarsRequest request) {
    InferenceResponseAndResponseDict sub =
        single(
            request.inferenceRequestSpec(),
            "derived_attention_scalars_request_spec",
            request.derivedAttentionScalarsRequestSpec());
    return new DerivedAttentionScalarsResponse(
        data(sub),
        (DerivedAttentionScalarsResponseData)
            sub.processingResponseDataByName().get("derived_attention_scalars_request_spec"));
  }

  public MultipleTopKDerivedScalarsResponse getMultipleTopKDerivedScalars(
      MultipleTopKDerivedScalarsRequest request) {
    InferenceResponseAndResponseDict sub =
        single(
            request.inferenceRequestSpec(),
            "multiple_top_k_derived_scalars_request_spec",
            request.multipleTopKDerivedScalarsRequestSpec());
    return new MultipleTopKDerivedScalarsResponse(
        data(sub),
        (MultipleTopKDerivedScalarsResponseData)
            sub.processingResponseDataByName().get("multiple_top_k_derived_scalars_request_spec"));
  }

  /**
   * The original's {@code get_scored_tokens}. As in the original it always fails (quirk 12): its
   * spec depends on a spec that a single request cannot hold; use a batched request.
   */
  public ScoredTokensResponse getScoredTokens(ScoredTokensRequest request) {
    InferenceResponseAndResponseDict sub =
        single(
            request.inferenceRequestSpec(),
            "scored_tokens_request_spec",
            request.scoredTokensRequestSpec());
    return new ScoredTokensResponse(
        data(sub),
        (ScoredTokensResponseData)
            sub.processingResponseDataByName().get("scored_tokens_request_spec"));
  }

  /** As {@link #getScoredTokens}: always fails (quirk 12); use a batched request. */
  public TokenPairAttributionResponse getTokenPairAttribution(TokenPairAttributionRequest request) {
    InferenceResponseAndResponseDict sub =
        single(
            request.inferenceRequestSpec(),
            "token_pair_attribution_request_spec",
            request.tokenPairAttributionRequestSpec());
    return new TokenPairAttributionResponse(
        data(sub),
        (TokenPairAttributionResponseData)
            sub.processingResponseDataByName().get("token_pair_attribution_request_spec"));
  }

  private InferenceResponseAndResponseDict single(
      InferenceRequestSpec inference, String name, ProcessingRequestSpec spec) {
    return handleBatchedRequest(
            BatchedRequest.of(new InferenceSubRequest(inference, Map.of(name, spec))))
        .inferenceSubResponses()
        .get(0);
  }

  private static InferenceAndTokenData data(InferenceResponseAndResponseDict sub) {
    return sub.inferenceResponse().inferenceAndTokenData();
  }

  /**
   * Runs every sub-request in one pass and answers each spec (the original's {@code
   * handle_batched_request}). Top-k specs of the same name share their node list across the batch;
   * scored-token and token-pair specs use their dependency's shared list.
   *
   * @throws DebuggerException if the request cannot be answered (see its kind)
   */
  public BatchedResponse handleBatchedRequest(BatchedRequest request) {
    lock.lock();
    try (NDManager manager = NDManager.newBaseManager(context.device())) {
      return new Batch(request, manager).respond();
    } catch (DebuggerException e) {
      throw e;
    } catch (UnsupportedDerivationException e) {
      throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED, e.getMessage(), e);
    } catch (IllegalArgumentException | IllegalStateException | IndexOutOfBoundsException e) {
      throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED, e.getMessage(), e);
    } finally {
      lock.unlock();
    }
  }

  /** The DSTs of one spec, by group, each with its config (the original's step 0). */
  private record SpecPlan(ProcessingRequestSpec spec, Map<GroupId, List<DstAndConfig>> groups) {}

  /** One batched request being answered. Not thread-safe; used under the lock. */
  private final class Batch {
    private final BatchedRequest request;
    private final NDManager manager;
    private final List<int[]> tokens = new ArrayList<>();
    private final List<Map<String, SpecPlan>> plans = new ArrayList<>();

    Batch(BatchedRequest request, NDManager manager) {
      this.request = request;
      this.manager = manager;
    }

    BatchedResponse respond() {
      List<InferenceSubRequest> subs = request.inferenceSubRequests();
      for (InferenceSubRequest sub : subs) {
        tokens.add(context.encode(sub.inferenceRequestSpec().prompt()));
        plans.add(plan(sub));
      }
      checkTopKPromptLengths();
      List<Passes.Prompt> prompts = new ArrayList<>();
      for (int i = 0; i < subs.size(); i++) {
        InferenceRequestSpec spec = subs.get(i).inferenceRequestSpec();
        Set<DstAndConfig> dsts = new LinkedHashSet<>();
        plans.get(i).values().forEach(p -> p.groups().values().forEach(dsts::addAll));
        prompts.add(
            new Passes.Prompt(
                tokens.get(i),
                loss(spec.lossFnConfig()),
                spec.traceConfig(),
                spec.ablationSpecs() == null ? List.of() : spec.ablationSpecs(),
                List.copyOf(dsts)));
      }
      long start = System.nanoTime();
      List<Passes.Result> results =
          Passes.run(
              context.getOrCreateModel(), List.copyOf(autoencoders.values()), prompts, manager);
      double seconds = (System.nanoTime() - start) / 1e9;
      List<Map<String, MultiGroupDerivedScalarStore<GroupId>>> stores = new ArrayList<>();
      try {
        for (int i = 0; i < subs.size(); i++) {
          Map<String, MultiGroupDerivedScalarStore<GroupId>> byName = new LinkedHashMap<>();
          stores.add(byName);
          for (Map.Entry<String, SpecPlan> e : plans.get(i).entrySet()) {
            byName.put(e.getKey(), derive(e.getValue(), results.get(i)));
          }
        }
        Map<String, List<NodeIndex>> nodes = collectNodes(stores);
        List<InferenceResponseAndResponseDict> responses = new ArrayList<>();
        for (int i = 0; i < subs.size(); i++) {
          Map<String, ProcessingResponseData> byName = new LinkedHashMap<>();
          for (Map.Entry<String, SpecPlan> e : plans.get(i).entrySet()) {
            byName.put(
                e.getKey(),
                respond(
                    e.getValue(),
                    stores.get(i).get(e.getKey()),
                    nodes.getOrDefault(e.getKey(), List.of()),
                    tokens.get(i)));
          }
          responses.add(
              new InferenceResponseAndResponseDict(
                  new InferenceResponse(
                      tokenData(seconds, results.get(i), subs.get(i), tokens.get(i))),
                  byName));
        }
        return new BatchedResponse(responses);
      } finally {
        stores.forEach(m -> m.values().forEach(MultiGroupDerivedScalarStore::close));
        results.forEach(r -> r.stores().close());
      }
    }

    private InferenceAndTokenData tokenData(
        double seconds, Passes.Result result, InferenceSubRequest sub, int[] ids) {
      List<String> strings = new ArrayList<>();
      List<Integer> ints = new ArrayList<>();
      for (int id : ids) {
        ints.add(id);
        strings.add(context.decodeToken(id));
      }
      Double loss =
          sub.inferenceRequestSpec().lossFnConfig() == null || Float.isNaN(result.loss())
              ? null
              : (double) result.loss();
      Double traced =
          sub.inferenceRequestSpec().traceConfig() == null || Float.isNaN(result.tracedValue())
              ? null
              : (double) result.tracedValue();
      return new InferenceAndTokenData(seconds, null, null, null, loss, traced, ints, strings);
    }

    private MultiGroupDerivedScalarStore<GroupId> derive(SpecPlan plan, Passes.Result result) {
      Map<GroupId, List<ScalarDeriver>> derivers = new LinkedHashMap<>();
      Map<GroupId, Boolean> excludeBottomK = new LinkedHashMap<>();
      plan.groups()
          .forEach(
              (group, list) -> {
                List<ScalarDeriver> built = new ArrayList<>();
                list.forEach(d -> built.add(ScalarDerivers.makeScalarDeriver(d.dst(), d.config())));
                derivers.put(group, built);
                excludeBottomK.put(group, options.excludeBottomK() && group.excludeBottomK());
              });
      // The runner derived every group's DSTs (with these configs) once for the prompt.
      return MultiGroupDerivedScalarStore.viewOf(
          result.stores().derivedScalars(),
          new MultiGroupScalarDerivers<>(derivers, excludeBottomK));
    }

    /** Step 2: the top-k nodes of every top-k spec, over the batch; dependent specs share them. */
    private Map<String, List<NodeIndex>> collectNodes(
        List<Map<String, MultiGroupDerivedScalarStore<GroupId>>> stores) {
      Map<String, List<NodeIndex>> all = new LinkedHashMap<>();
      for (int i = 0; i < plans.size(); i++) {
        for (Map.Entry<String, SpecPlan> e : plans.get(i).entrySet()) {
          ProcessingRequestSpec spec = e.getValue().spec();
          if (spec instanceof MultipleTopKDerivedScalarsRequestSpec topK) {
            all.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                .addAll(topK(topK, stores.get(i).get(e.getKey())));
          } else {
            String dependency = dependency(spec);
            if (dependency != null) {
              List<NodeIndex> shared = all.get(dependency);
              if (shared == null) {
                throw new DebuggerException(
                    DebuggerException.Kind.UNSUPPORTED,
                    "Spec '"
                        + e.getKey()
                        + "' depends on '"
                        + dependency
                        + "', which is not a top-k spec");
              }
              all.put(e.getKey(), shared); // the same list: later appends to the dependency count
            }
          }
        }
      }
      Map<String, List<NodeIndex>> distinct = new LinkedHashMap<>();
      all.forEach((name, list) -> distinct.put(name, List.copyOf(new LinkedHashSet<>(list))));
      return distinct;
    }

    private List<NodeIndex> topK(
        MultipleTopKDerivedScalarsRequestSpec spec, MultiGroupDerivedScalarStore<GroupId> store) {
      Integer tokenIndex = spec.tokenIndex();
      if (tokenIndex == null) {
        return store.topk(spec.topAndBottomK(), null, null).nodes();
      }
      return store
          .topk(
              spec.topAndBottomK(),
              x -> x.get(new NDIndex("{}", tokenIndex)).expandDims(0),
              node -> {
                List<Integer> indices = new ArrayList<>(node.tensorIndices());
                indices.set(0, tokenIndex); // written back literally (quirk 5: -1 stays -1)
                return new NodeIndex(node.nodeType(), indices, node.layerIndex(), node.passType());
              })
          .nodes();
    }

    private void checkTopKPromptLengths() {
      List<int[]> topK = new ArrayList<>();
      for (int i = 0; i < plans.size(); i++) {
        if (plans.get(i).values().stream()
            .anyMatch(p -> p.spec() instanceof MultipleTopKDerivedScalarsRequestSpec)) {
          topK.add(tokens.get(i));
        }
      }
      List<Integer> lengths = topK.stream().map(t -> t.length).toList();
      if (lengths.stream().anyMatch(n -> n > PROMPT_LENGTH_LIMIT)) {
        throw new DebuggerException(
            DebuggerException.Kind.INVALID_REQUEST,
            "Prompts must be less than "
                + PROMPT_LENGTH_LIMIT
                + " tokens long for batched top-k requests. Got"
                + " these prompt lengths: "
                + lengths);
      }
      if (new LinkedHashSet<>(lengths).size() > 1) {
        StringBuilder message =
            new StringBuilder(
                "All prompts must have the same length for batched top-k requests. Got these prompts:\n");
        for (int[] t : topK) {
          message
              .append(
                  Arrays.stream(t)
                      .mapToObj(id -> "'" + context.decodeToken(id) + "'")
                      .collect(Collectors.joining(", ", "[", "]")))
              .append(" (")
              .append(t.length)
              .append(" tokens)\n, ");
        }
        message.setLength(message.length() - 2);
        throw new DebuggerException(DebuggerException.Kind.INVALID_REQUEST, message.toString());
      }
    }

    /** Step 0 for one sub-request: every spec's groups of (DST, config), in map order. */
    private Map<String, SpecPlan> plan(InferenceSubRequest sub) {
      Map<String, SpecPlan> plans = new LinkedHashMap<>();
      InferenceRequestSpec inference = sub.inferenceRequestSpec();
      for (Map.Entry<String, ProcessingRequestSpec> e :
          sub.processingRequestSpecByName().entrySet()) {
        ProcessingRequestSpec spec = e.getValue();
        Map<GroupId, List<DstAndConfig>> groups = new LinkedHashMap<>();
        if (spec instanceof MultipleTopKDerivedScalarsRequestSpec topK) {
          topK.dstListByGroupId()
              .forEach(
                  (group, dsts) -> groups.put(group, configured(dsts, topK.passType(), inference)));
        } else if (spec instanceof DerivedScalarsRequestSpec ds) {
          groups.put(GroupId.SINGLETON, configured(List.of(ds.dst()), ds.passType(), inference));
        } else if (spec instanceof DerivedAttentionScalarsRequestSpec das) {
          groups.put(
              GroupId.SINGLETON, configured(List.of(das.dst()), PassType.FORWARD, inference));
        } else {
          SpecPlan dependency = plans.get(dependency(spec));
          if (dependency == null) {
            throw new DebuggerException(
                DebuggerException.Kind.UNSUPPORTED,
                "Spec '"
                    + e.getKey()
                    + "' depends on '"
                    + dependency(spec)
                    + "', which must come earlier in the"
                    + " same sub-request (the original asserts this; a single-spec request cannot satisfy it)");
          }
          List<DstAndConfig> requested = dependency.groups().values().iterator().next();
          if (spec instanceof ScoredTokensRequestSpec scored) {
            boolean write = scored.tokenScoringType() == TokenScoringType.UPVOTED_OUTPUT_TOKENS;
            groups.put(
                write ? GroupId.TOKEN_WRITE : GroupId.TOKEN_READ,
                inputDsts(requested, write ? tokenWrite.inputDsts() : tokenRead.inputDsts()));
          } else {
            Map<NodeType, DerivedScalarType> inputs = new LinkedHashMap<>();
            inputs.put(
                NodeType.ATTENTION_AUTOENCODER_LATENT,
                DerivedScalarType.ATTENTION_AUTOENCODER_LATENT);
            List<DstAndConfig> list = new ArrayList<>(inputDsts(requested, inputs));
            list.add(
                new DstAndConfig(
                    DerivedScalarType.ATTN_WRITE_SUM_HEADS,
                    DstConfig.builder().modelContext(context).build()));
            groups.put(GroupId.TOKEN_PAIR_ATTRIBUTION, list);
          }
        }
        plans.put(e.getKey(), new SpecPlan(spec, groups));
      }
      return plans;
    }

    /** The original's {@code _get_dst_config}, applied to a group's DSTs. */
    private List<DstAndConfig> configured(
        List<DerivedScalarType> dsts, PassType passType, InferenceRequestSpec inference) {
      DstConfig.Builder config =
          DstConfig.builder().modelContext(context).deriveGradients(passType == PassType.BACKWARD);
      if (multiAutoencoder != null) {
        config.multiAutoencoderContext(multiAutoencoder);
      }
      if (inference.activationIndexForWithinLayerGrad() != null) {
        config.traceConfig(
            TraceConfig.fromActivationIndex(inference.activationIndexForWithinLayerGrad()));
      } else {
        config.traceConfig(inference.traceConfig());
      }
      if (dsts.contains(DerivedScalarType.ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS)) {
        if (inference.activationIndexForWithinLayerGrad() == null) {
          throw new DebuggerException(
              DebuggerException.Kind.UNSUPPORTED,
              "attn_write_to_latent_summed_over_heads needs activationIndexForWithinLayerGrad (the latent)");
        }
        config.layerIndices(List.of(inference.activationIndexForWithinLayerGrad().layerIndex()));
      }
      if (dsts.equals(List.of(DerivedScalarType.VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION))) {
        if (inference.ablationSpecs() == null || inference.ablationSpecs().size() != 1) {
          throw new DebuggerException(
              DebuggerException.Kind.UNSUPPORTED,
              "vocab_token_write_to_input_direction needs exactly one ablation spec (the fake gradient)");
        }
        config.activationIndexForFakeGrad(inference.ablationSpecs().get(0).index());
      }
      DstConfig built = config.build();
      return dsts.stream().map(d -> new DstAndConfig(d, built)).toList();
    }

    /**
     * A converter's input DSTs for the requested DSTs' node types, each with the requested config.
     */
    private List<DstAndConfig> inputDsts(
        List<DstAndConfig> requested, Map<NodeType, DerivedScalarType> inputs) {
      Set<NodeType> seen = new LinkedHashSet<>();
      List<DstAndConfig> out = new ArrayList<>();
      for (DstAndConfig r : requested) {
        if (!seen.add(r.dst().nodeType())) {
          throw new DebuggerException(
              DebuggerException.Kind.UNSUPPORTED,
              "Requested derived scalar types must have unique node types, got two of "
                  + r.dst().nodeType());
        }
        DerivedScalarType input = inputs.get(r.dst().nodeType());
        if (input != null) {
          out.add(new DstAndConfig(input, r.config()));
        }
      }
      return out;
    }

    private ProcessingResponseData respond(
        SpecPlan plan,
        MultiGroupDerivedScalarStore<GroupId> store,
        List<NodeIndex> nodes,
        int[] ids) {
      ProcessingRequestSpec spec = plan.spec();
      if (spec instanceof MultipleTopKDerivedScalarsRequestSpec topK) {
        return topKResponse(topK, store, nodes);
      }
      DerivedScalarStore single = store.stores().values().iterator().next();
      if (spec instanceof DerivedScalarsRequestSpec ds) {
        return derivedScalarsResponse(ds, single);
      }
      if (spec instanceof DerivedAttentionScalarsRequestSpec das) {
        return attentionResponse(das, single, ids);
      }
      if (spec instanceof ScoredTokensRequestSpec scored) {
        return scoredTokensResponse(scored, single, nodes);
      }
      TokenPairAttributionRequestSpec pairs = (TokenPairAttributionRequestSpec) spec;
      List<TopTokensAttendedTo> list = new ArrayList<>();
      for (NodeIndex node : nodes) {
        list.add(
            tokenPairs
                .topTokensAttendedTo(
                    node, single, pairs.numTokensAttendedTo(), options.clampTokensAttendedTo())
                .orElse(null));
      }
      return new TokenPairAttributionResponseData(nodes, list);
    }
  }

  private static String dependency(ProcessingRequestSpec spec) {
    if (spec instanceof ScoredTokensRequestSpec s) {
      return s.dependsOnSpecName();
    }
    if (spec instanceof TokenPairAttributionRequestSpec t) {
      return t.dependsOnSpecName();
    }
    return null;
  }

  private Loss loss(LossFnConfig config) {
    if (config == null) {
      return null;
    }
    int[] targets = tokenIds(config.targetTokens());
    int[] distractors = tokenIds(config.distractorTokens());
    return switch (config.name()) {
      case LOGIT_DIFF -> {
        requireTargets(targets, config);
        yield Loss.logitDiff(targets, distractors == null ? new int[0] : distractors);
      }
      case LOGIT_MINUS_MEAN -> {
        requireTargets(targets, config);
        requireNoDistractors(distractors, config);
        yield Loss.logitMinusMean(targets);
      }
      case PROBS -> {
        requireTargets(targets, config);
        requireNoDistractors(distractors, config);
        yield Loss.probs(targets);
      }
      case ZERO -> Loss.zero();
    };
  }

  private static void requireTargets(int[] targets, LossFnConfig config) {
    if (targets == null || targets.length == 0) {
      throw new DebuggerException(
          DebuggerException.Kind.UNSUPPORTED,
          "Loss " + config.name().value() + " needs at least one target token");
    }
  }

  private static void requireNoDistractors(int[] distractors, LossFnConfig config) {
    if (distractors != null) {
      throw new DebuggerException(
          DebuggerException.Kind.UNSUPPORTED,
          "Loss "
              + config.name().value()
              + " takes no distractor tokens (leave distractorTokens null)");
    }
  }

  private int[] tokenIds(List<String> strings) {
    if (strings == null) {
      return null;
    }
    int[] ids = new int[strings.size()];
    for (int i = 0; i < ids.length; i++) {
      int[] encoded = context.encode(strings.get(i));
      if (encoded.length != 1) {
        throw new DebuggerException(
            DebuggerException.Kind.INVALID_REQUEST,
            "'"
                + strings.get(i)
                + "' decoded to "
                + Arrays.toString(encoded)
                + "; wanted exactly 1 token");
      }
      ids[i] = encoded[0];
    }
    return ids;
  }

  private MultipleTopKDerivedScalarsResponseData topKResponse(
      MultipleTopKDerivedScalarsRequestSpec spec,
      MultiGroupDerivedScalarStore<GroupId> store,
      List<NodeIndex> nodes) {
    if (nodes.isEmpty()) {
      throw new DebuggerException(DebuggerException.Kind.UNSUPPORTED, "The top-k found no node");
    }
    Map<GroupId, List<Double>> values = new LinkedHashMap<>();
    Map<GroupId, Map<DerivedScalarType, TensorND>> sums = new LinkedHashMap<>();
    store
        .stores()
        .forEach(
            (group, groupStore) -> {
              float[] v = groupStore.derivedScalarsForNodeIndices(nodes);
              List<Double> list = new ArrayList<>(v.length);
              for (float f : v) {
                if (!Float.isFinite(f)) {
                  throw new DebuggerException(
                      DebuggerException.Kind.UNSUPPORTED,
                      "Group "
                          + group.value()
                          + " has a non-finite value "
                          + f
                          + " (the original refuses top-k responses"
                          + " with non-finite activations)");
                }
                list.add((double) f);
              }
              values.put(group, list);
              Map<DerivedScalarType, TensorND> byDst = new LinkedHashMap<>();
              for (DerivedScalarType dst : groupStore.dsts()) {
                byDst.put(
                    dst,
                    IntermediateSums.sum(
                        groupStore, dst, spec.dimensionsToKeepForIntermediateSum()));
              }
              sums.put(group, byDst);
            });
    List<String> strings = new ArrayList<>();
    boolean any = false;
    for (NodeIndex node : nodes) {
      int id = node.tensorIndices().get(node.tensorIndices().size() - 1);
      if (node.nodeType() == NodeType.VOCAB_TOKEN && id < context.nVocab()) {
        strings.add(context.decodeToken(id));
        any = true;
      } else {
        strings.add(null);
      }
    }
    return new MultipleTopKDerivedScalarsResponseData(values, nodes, any ? strings : null, sums);
  }

  private DerivedScalarsResponseData derivedScalarsResponse(
      DerivedScalarsRequestSpec spec, DerivedScalarStore store) {
    if (spec.normalizeActivationsUsingNeuronRecord() != null) {
      throw new DebuggerException(
          DebuggerException.Kind.UNSUPPORTED,
          "normalizeActivationsUsingNeuronRecord needs neuron-record datasets, which InteractiveModel does not load");
    }
    int layer = layerOf(spec.layerIndex());
    ActivationsAndMetadata values = store.get(spec.dst(), spec.passType());
    requireLayer(values, layer);
    NDArray tensor = values.get(layer);
    long width = tensor.getShape().get(tensor.getShape().dimension() - 1);
    if (spec.activationIndex() < -width || spec.activationIndex() >= width) {
      throw new DebuggerException(
          DebuggerException.Kind.INDEX_OUT_OF_RANGE,
          "activationIndex "
              + spec.activationIndex()
              + " is out of range [0, "
              + width
              + ") for "
              + spec.dst().value());
    }
    float[] activations;
    try (NDManager scratch = tensor.getManager().newSubManager()) {
      NDArray column = tensor.get(new NDIndex(":, {}", spec.activationIndex()));
      column.attach(scratch);
      if (column.getShape().dimension() != 1) {
        throw new DebuggerException(
            DebuggerException.Kind.UNSUPPORTED,
            spec.dst().value()
                + " at one index is "
                + column.getShape()
                + ", not one value per token: a derived"
                + " scalars spec needs a [tokens, X] DST (an attention spec inside a batched request is read as a"
                + " derived scalars spec, quirk 1)");
      }
      activations = column.toType(DataType.FLOAT32, false).toFloatArray();
    }
    List<Double> list = new ArrayList<>();
    List<NodeIndex> nodeIndices = new ArrayList<>();
    for (int t = 0; t < activations.length; t++) {
      list.add((double) activations[t]);
      nodeIndices.add(
          new NodeIndex(
              spec.dst().nodeType(), List.of(t, spec.activationIndex()), layer, spec.passType()));
    }
    TopTokens top = null;
    if (spec.numTopTokens() != null) {
      top = derivedScalarsTopTokens(spec, store, activations, nodeIndices.get(0));
    }
    return new DerivedScalarsResponseData(list, null, nodeIndices, top);
  }

  private TopTokens derivedScalarsTopTokens(
      DerivedScalarsRequestSpec spec,
      DerivedScalarStore store,
      float[] activations,
      NodeIndex first) {
    if (spec.dst() == DerivedScalarType.VOCAB_TOKEN_WRITE_TO_INPUT_DIRECTION) {
      NDArray row =
          store
              .get(spec.dst(), spec.passType())
              .get(io.github.neuronexplainer.core.locations.LayerIndex.NONE);
      try (NDManager scratch = row.getManager().newSubManager()) {
        NDArray first0 = row.get(new NDIndex("0")).reshape(1, -1);
        first0.attach(scratch);
        if (first0.abs().max().getFloat() == 0f) {
          return null;
        }
        return topTokens.topTokens(first0, spec.numTopTokens(), false).get(0);
      }
    }
    if (activations[0] == 0f) {
      return null;
    }
    try (NDManager scratch = NDManager.newBaseManager(context.device())) {
      NDArray writes;
      try {
        writes = tokenWrite.tokenWrites(List.of(first), store, scratch);
      } catch (IllegalArgumentException e) {
        throw new DebuggerException(
            DebuggerException.Kind.UNSUPPORTED,
            "Top tokens of "
                + spec.dst().value()
                + " need the converter's input DST for node type "
                + first.nodeType().value()
                + " ("
                + tokenWrite.inputDsts().get(first.nodeType())
                + "): "
                + e.getMessage(),
            e);
      }
      return topTokens.topTokens(writes, spec.numTopTokens(), activations[0] < 0).get(0);
    }
  }

  private DerivedAttentionScalarsResponseData attentionResponse(
      DerivedAttentionScalarsRequestSpec spec, DerivedScalarStore store, int[] ids) {
    int index;
    if (spec.dst() == DerivedScalarType.UNFLATTENED_ATTN_WRITE_NORM) {
      index = spec.activationIndex();
    } else if (spec.dst() == DerivedScalarType.ATTN_WRITE_TO_LATENT_SUMMED_OVER_HEADS) {
      index = 0;
    } else {
      throw new DebuggerException(
          DebuggerException.Kind.UNSUPPORTED,
          "Unsupported DST: "
              + spec.dst().value()
              + "; derived attention scalars support "
              + "unflattened_attn_write_norm and attn_write_to_latent_summed_over_heads");
    }
    int layer = layerOf(spec.layerIndex());
    ActivationsAndMetadata values = store.get(spec.dst(), PassType.FORWARD);
    requireLayer(values, layer);
    NDArray tensor = values.get(layer);
    float[] matrix;
    int n;
    try (NDManager scratch = tensor.getManager().newSubManager()) {
      NDArray m = tensor.get(new NDIndex(":, :, {}", index));
      m.attach(scratch);
      n = (int) m.getShape().get(0);
      if (m.getShape().dimension() != 2 || m.getShape().get(1) != n) {
        throw new DebuggerException(
            DebuggerException.Kind.UNSUPPORTED,
            "Expected a square token-pair matrix, got " + m.getShape());
      }
      matrix = m.toType(DataType.FLOAT32, false).toFloatArray();
    }
    List<AttentionScalarsNormalizer.Row> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      List<Double> scalars = new ArrayList<>();
      for (int j = 0; j <= i; j++) {
        scalars.add((double) matrix[i * n + j]);
      }
      rows.add(new AttentionScalarsNormalizer.Row(context.decodeToken(ids[i]), scalars));
    }
    return new DerivedAttentionScalarsResponseData(AttentionScalarsNormalizer.normalize(rows));
  }

  private ScoredTokensResponseData scoredTokensResponse(
      ScoredTokensRequestSpec spec, DerivedScalarStore store, List<NodeIndex> nodes) {
    Set<NodeType> applicable =
        switch (spec.tokenScoringType()) {
          case UPVOTED_OUTPUT_TOKENS -> null; // every node
          case INPUT_TOKENS_THAT_UPVOTE_MLP ->
              Set.of(
                  NodeType.MLP_NEURON,
                  NodeType.AUTOENCODER_LATENT,
                  NodeType.MLP_AUTOENCODER_LATENT);
          // disabled in the original ("TODO(dan) ... re-enable"), quirk 7
          case INPUT_TOKENS_THAT_UPVOTE_ATTN_Q, INPUT_TOKENS_THAT_UPVOTE_ATTN_K -> Set.of();
        };
    List<NodeIndex> scored =
        nodes.stream()
            .filter(n -> applicable == null || applicable.contains(n.nodeType()))
            .toList();
    List<TopTokens> list = new ArrayList<>();
    if (scored.isEmpty()) {
      nodes.forEach(n -> list.add(null));
      return new ScoredTokensResponseData(nodes, list);
    }
    List<TopTokens> top;
    try (NDManager scratch = NDManager.newBaseManager(context.device())) {
      NDArray scores =
          spec.tokenScoringType() == TokenScoringType.UPVOTED_OUTPUT_TOKENS
              ? tokenWrite.tokenWrites(scored, store, scratch)
              : tokenRead.tokenReads(scored, store, scratch);
      top = topTokens.topTokens(scores, spec.numTokens(), false);
    }
    int next = 0;
    for (NodeIndex node : nodes) {
      list.add(applicable == null || applicable.contains(node.nodeType()) ? top.get(next++) : null);
    }
    return new ScoredTokensResponseData(nodes, list);
  }

  private static int layerOf(Integer layerIndex) {
    return layerIndex == null
        ? io.github.neuronexplainer.core.locations.LayerIndex.NONE
        : layerIndex;
  }

  private static void requireLayer(ActivationsAndMetadata values, int layer) {
    if (!values.layerIndices().contains(layer)) {
      throw new DebuggerException(
          DebuggerException.Kind.INDEX_OUT_OF_RANGE,
          "Layer index "
              + io.github.neuronexplainer.core.locations.LayerIndex.format(layer)
              + " not in layer_indices "
              + values.layerIndices()
              + " of "
              + values.dst().value());
    }
  }

  /** Not thread-safe. */
  public static final class Builder {
    private final StandardModelContext context;
    private final Map<NodeType, AutoencoderContext> autoencoders = new LinkedHashMap<>();
    private final Map<NodeType, String> names = new LinkedHashMap<>();
    private String modelName;
    private DebuggerOptions options = DebuggerOptions.faithful();

    private Builder(StandardModelContext context) {
      this.context = context;
    }

    /**
     * Adds an autoencoder family under {@code name} (echoed by model info): an MLP one (input
     * MLP_POST_ACT or RESID_DELTA_MLP) or an attention one (RESID_DELTA_ATTN).
     *
     * @throws IllegalArgumentException if one of the same kind is already there
     */
    public Builder autoencoder(String name, AutoencoderContext autoencoder) {
      NodeType type = autoencoder.nodeType();
      if (autoencoders.containsKey(type)) {
        throw new IllegalArgumentException(
            "Cannot load two autoencoders with the same node type "
                + type.value()
                + " ("
                + names.get(type)
                + " and "
                + name
                + ")");
      }
      autoencoders.put(type, autoencoder);
      names.put(type, name);
      return this;
    }

    /** The name model info reports (default: the context's model name). */
    public Builder modelName(String value) {
      modelName = value;
      return this;
    }

    public Builder options(DebuggerOptions value) {
      options = value;
      return this;
    }

    public InteractiveModel build() {
      LOG.debug("Debugger over {} with autoencoders {}", context.modelName(), names);
      return new InteractiveModel(this);
    }
  }
}
