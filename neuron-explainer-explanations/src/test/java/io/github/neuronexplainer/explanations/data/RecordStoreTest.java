package io.github.neuronexplainer.explanations.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.github.neuronexplainer.core.records.ActivationRecord;
import io.github.neuronexplainer.core.records.ActivationRecordSliceParams;
import io.github.neuronexplainer.core.records.FastDataclassJson;
import io.github.neuronexplainer.core.records.NeuronId;
import io.github.neuronexplainer.core.records.NeuronRecord;
import io.github.neuronexplainer.core.records.NeuronSimulationResults;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordStoreTest {
  static NeuronRecord record() {
    List<ActivationRecord> top = new ArrayList<>();
    List<ActivationRecord> random = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      top.add(ActivationRecord.of(List.of("top" + i), List.of(10.0 - i)));
    }
    for (int i = 0; i < 6; i++) {
      random.add(ActivationRecord.of(List.of("rand" + i), List.of(0.1 * i)));
    }
    return NeuronRecord.of(new NeuronId(7, 3), top, random);
  }

  @Test
  void loadsRecordsAndExplanationsFromALocalFolder(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("acts/3"));
    Files.writeString(dir.resolve("acts/3/7.json"), FastDataclassJson.dumps(record()));
    Files.createDirectories(dir.resolve("expl/3"));
    Files.writeString(
        dir.resolve("expl/3/7.jsonl"),
        "{\"neuron_id\":{\"idx\":7,\"layer\":3,\"dataclass_name\":\"NeuronId\"},\"dataclass_name\":\"NeuronSimulationResults\","
            + "\"scored_explanation_or_baseline_list\":[]}\n\n");
    RecordStore store = new RecordStore(null);
    NeuronRecord r =
        store
            .loadNeuronRecord(DatasetLocation.localFolder(dir.resolve("acts"), "json"), 3, 7)
            .orElseThrow();
    assertEquals(new NeuronId(7, 3), r.neuronId());
    assertEquals(
        List.of("top0", "top4"),
        r.trainActivationRecords(new ActivationRecordSliceParams(null)).stream()
            .map(a -> a.tokens().get(0))
            .toList());
    assertEquals(
        List.of("top2", "top6", "rand1", "rand4"),
        r.validActivationRecords(new ActivationRecordSliceParams(2)).stream()
            .map(a -> a.tokens().get(0))
            .toList());
    assertEquals(null, r.mean(), "NaN is written as null and reads back as null, as upstream");
    NeuronSimulationResults e =
        store
            .loadNeuronExplanations(DatasetLocation.localFolder(dir.resolve("expl"), "jsonl"), 3, 7)
            .orElseThrow();
    assertEquals(new NeuronId(7, 3), e.neuronId());
    assertTrue(
        store
            .loadNeuronRecord(DatasetLocation.localFolder(dir.resolve("acts"), "json"), 3, 8)
            .isEmpty());
  }

  @Test
  void remoteFilesAreCachedOnDiskAnd404IsMissing(@TempDir Path cache) throws Exception {
    AtomicInteger hits = new AtomicInteger();
    byte[] body = FastDataclassJson.dumps(record()).getBytes(StandardCharsets.UTF_8);
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
    server.createContext(
        "/",
        ex -> {
          hits.incrementAndGet();
          if (ex.getRequestURI().getPath().endsWith("/3/7.json")) {
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
          } else if (ex.getRequestURI().getPath().endsWith("/3/9.json")) {
            ex.sendResponseHeaders(500, -1);
          } else {
            ex.sendResponseHeaders(404, -1);
          }
          ex.close();
        });
    server.start();
    try {
      DatasetLocation location =
          new DatasetLocation(
              "http://127.0.0.1:"
                  + server.getAddress().getPort()
                  + "/bucket/collated-activations/{layer}/{index}.json");
      RecordStore store = new RecordStore(cache);
      assertEquals(
          new NeuronId(7, 3), store.loadNeuronRecord(location, 3, 7).orElseThrow().neuronId());
      assertEquals(
          new NeuronId(7, 3), store.loadNeuronRecord(location, 3, 7).orElseThrow().neuronId());
      assertEquals(1, hits.get(), "second read comes from the disk cache");
      assertTrue(store.loadNeuronRecord(location, 3, 8).isEmpty());
      assertThrows(RuntimeException.class, () -> store.loadNeuronRecord(location, 3, 9));
    } finally {
      server.stop(0);
    }
  }

  @Test
  void templatesNeedBothPlaceholders() {
    assertThrows(IllegalArgumentException.class, () -> new DatasetLocation("/data/{layer}.json"));
    assertEquals(
        DatasetLocation.PUBLIC_BASE
            + "gpt2_small/autoencoder_latent/resid_delta_attn_v4/"
            + "collated-activations-by-token-pair/5/12.json",
        DatasetLocation.gpt2SmallLatents("resid_delta_attn_v4", true).resolve(5, 12));
    assertEquals(
        DatasetLocation.PUBLIC_BASE + "gpt2_small_data/collated-activations/0/3071.json",
        DatasetLocation.GPT2_SMALL_NEURONS.resolve(0, 3071));
  }
}
