package io.github.neuronexplainer.examples;

import io.github.neuronexplainer.core.records.SequenceSimulation;
import io.github.neuronexplainer.explanations.client.LlmClient;
import io.github.neuronexplainer.explanations.client.OpenAiClient;
import io.github.neuronexplainer.explanations.fewshot.FewShotExampleSet;
import io.github.neuronexplainer.explanations.simulator.LogprobFreeExplanationTokenSimulator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.EntityDetails;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.Message;
import org.apache.hc.core5.http.URIScheme;
import org.apache.hc.core5.http.impl.bootstrap.AsyncServerBootstrap;
import org.apache.hc.core5.http.impl.bootstrap.HttpAsyncServer;
import org.apache.hc.core5.http.nio.AsyncRequestConsumer;
import org.apache.hc.core5.http.nio.AsyncServerRequestHandler;
import org.apache.hc.core5.http.nio.entity.BasicAsyncEntityConsumer;
import org.apache.hc.core5.http.nio.support.BasicRequestConsumer;
import org.apache.hc.core5.http.nio.support.BasicResponseProducer;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.reactor.IOReactorConfig;
import org.apache.hc.core5.reactor.ListenerEndpoint;

/**
 * Client throughput benchmark: N logprob-free simulations against a loopback server that answers
 * each request after a fixed delay, at a given concurrency. The ideal wall time is {@code N × delay
 * / concurrency} (1 s for the defaults 1000 × 50 ms / 50); the efficiency is that bound divided by
 * the measured wall time.
 *
 * <p>Usage: {@code SimulationBenchmark [simulations=1000] [delayMs=50] [concurrency=50]
 * [fewShotSet=COLANGV2]}; the TEST set gives a small prompt, which isolates the client's own
 * overhead from prompt serialisation.
 */
public final class SimulationBenchmark {
  private static final List<String> TOKENS =
      List.of(" The", " cat", " sat", " on", " the", " mat", ".");

  private SimulationBenchmark() {}

  public static void main(String[] args) throws Exception {
    int simulations = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    long delayMs = args.length > 1 ? Long.parseLong(args[1]) : 50;
    int concurrency = args.length > 2 ? Integer.parseInt(args[2]) : 50;
    FewShotExampleSet fewShotSet =
        FewShotExampleSet.valueOf(args.length > 3 ? args[3] : "COLANGV2");
    String answer = answerJson();
    // A non-blocking loopback server (httpcore5): each answer is scheduled after the delay, so the
    // server
    // costs little CPU and no thread per request, and the figure reflects the client.
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    HttpAsyncServer server =
        AsyncServerBootstrap.bootstrap()
            .setIOReactorConfig(IOReactorConfig.custom().setIoThreadCount(1).build())
            .setCanonicalHostName("127.0.0.1")
            .register(
                "*",
                new AsyncServerRequestHandler<Message<HttpRequest, byte[]>>() {
                  @Override
                  public AsyncRequestConsumer<Message<HttpRequest, byte[]>> prepare(
                      HttpRequest request, EntityDetails entity, HttpContext context) {
                    return new BasicRequestConsumer<>(
                        entity == null ? null : new BasicAsyncEntityConsumer());
                  }

                  @Override
                  public void handle(
                      Message<HttpRequest, byte[]> message,
                      ResponseTrigger trigger,
                      HttpContext context) {
                    timer.schedule(
                        () -> {
                          try {
                            trigger.submitResponse(
                                new BasicResponseProducer(
                                    200, answer, ContentType.APPLICATION_JSON),
                                context);
                          } catch (HttpException | IOException e) {
                            throw new IllegalStateException(e);
                          }
                        },
                        delayMs,
                        TimeUnit.MILLISECONDS);
                  }
                })
            .create();
    server.start();
    ListenerEndpoint endpoint =
        server
            .listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), URIScheme.HTTP)
            .get();
    String baseUrl =
        "http://127.0.0.1:" + ((InetSocketAddress) endpoint.getAddress()).getPort() + "/v1";
    try (OpenAiClient client =
        OpenAiClient.builder()
            .baseUrl(baseUrl)
            .apiKey("benchmark")
            .model("benchmark-model")
            .maxConcurrent(concurrency)
            .build()) {
      var simulator = new LogprobFreeExplanationTokenSimulator(client, "animals", fewShotSet);
      run(simulator, Math.max(3000, simulations)); // warm-up: JIT (C2), connection pool
      var os =
          (com.sun.management.OperatingSystemMXBean)
              java.lang.management.ManagementFactory.getOperatingSystemMXBean();
      long cpuStart = os.getProcessCpuTime();
      long start = System.nanoTime();
      List<SequenceSimulation> results = run(simulator, simulations);
      double wallSeconds = (System.nanoTime() - start) / 1e9;
      double cpuMsPerRequest = (os.getProcessCpuTime() - cpuStart) / 1e6 / simulations;
      long nonZero =
          results.stream().filter(r -> r.expectedActivations().get(1).doubleValue() == 8.0).count();
      double bound = simulations * delayMs / 1000.0 / concurrency;
      double overheadMs = (wallSeconds * concurrency / simulations) * 1000 - delayMs;
      System.out.printf(
          "simulations=%d delay=%dms concurrency=%d few-shot set=%s%n",
          simulations, delayMs, concurrency, fewShotSet);
      System.out.printf(
          "wall time %.3f s, ideal bound %.3f s, efficiency %.1f%% of the bound%n",
          wallSeconds, bound, 100 * bound / wallSeconds);
      System.out.printf(
          "client overhead per request %.2f ms (wall × concurrency / N − delay); parsed %d/%d%n",
          overheadMs, nonZero, simulations);
      System.out.printf(
          "process CPU per simulation %.2f ms (client and loopback server together), %d cores, "
              + "system load average %.1f%n",
          cpuMsPerRequest, Runtime.getRuntime().availableProcessors(), os.getSystemLoadAverage());
      System.out.printf("client usage: %s%n", client.usage());
    } finally {
      server.close(CloseMode.GRACEFUL);
      timer.shutdownNow();
    }
  }

  private static List<SequenceSimulation> run(
      LogprobFreeExplanationTokenSimulator simulator, int n) {
    List<CompletableFuture<SequenceSimulation>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      futures.add(simulator.simulate(TOKENS));
    }
    return futures.stream().map(LlmClient::await).toList();
  }

  private static String answerJson() {
    StringBuilder acts = new StringBuilder();
    for (int i = 0; i < TOKENS.size(); i++) {
      if (i > 0) {
        acts.append(", ");
      }
      acts.append("{\\\"token\\\": \\\"")
          .append(TOKENS.get(i))
          .append("\\\", \\\"activation\\\": ")
          .append(i == 1 ? 8 : 0)
          .append('}');
    }
    return "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"activations\\\": ["
        + acts
        + "]}\"}}],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":60,\"total_tokens\":960}}";
  }
}
