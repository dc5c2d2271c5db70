package io.github.neuronexplainer.models.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRegistryTest {
  @TempDir Path dir;

  @Test
  void unknownNameListsTheKnownOnes() {
    ModelRegistry registry = ModelRegistry.builder().cacheDir(dir).build();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> registry.loadCheckpoint("gpt3-huge", DownloadProgress.none()));
    assertTrue(e.getMessage().contains("unknown model 'gpt3-huge'"), e.getMessage());
    assertTrue(
        e.getMessage().contains("[gpt2-small, gpt2-medium, gpt2-large, gpt2-xl]"), e.getMessage());
    assertEquals(
        Set.of("gpt2-small", "gpt2-medium", "gpt2-large", "gpt2-xl"), ModelRegistry.knownModels());
  }

  @Test
  void defaultUrlsMatchTheHubAndTheOriginal() {
    ModelRegistry registry = ModelRegistry.builder().cacheDir(dir).build();
    assertEquals(
        URI.create("https://huggingface.co/gpt2/resolve/main/"),
        registry.huggingFaceSource("gpt2-small").baseUrl());
    assertEquals(
        URI.create("https://huggingface.co/gpt2-xl/resolve/main/"),
        registry.huggingFaceSource("gpt2-xl").baseUrl());
    assertEquals(
        URI.create(
            "https://openaipublic.blob.core.windows.net/neuron-explainer/subject-models/gpt2/medium/"),
        registry.openAiSource("gpt2-medium").baseUrl());
    HttpSource url =
        assertInstanceOf(HttpSource.class, registry.sourceFor("https://example.org/my/model"));
    assertEquals(URI.create("https://example.org/my/model/"), url.baseUrl());
  }

  @Test
  void localFolderIsLoadedDirectly() throws IOException {
    Path folder =
        SyntheticCheckpoints.writeHf(dir.resolve("local"), SyntheticCheckpoints.hfTensors(1, ""));
    ModelRegistry registry = ModelRegistry.builder().cacheDir(dir.resolve("cache")).build();
    assertInstanceOf(LocalFolderSource.class, registry.sourceFor(folder.toString()));
    assertEquals(
        Gpt2Checkpoint.load(folder).tensors(),
        registry.loadCheckpoint(folder.toString(), DownloadProgress.none()).tensors());
  }

  @Test
  void knownNameIsFetchedFromTheConfiguredHubAndCached() throws IOException {
    SyntheticCheckpoints.writeHf(
        dir.resolve("served/gpt2/resolve/main"), SyntheticCheckpoints.hfTensors(2, "transformer."));
    try (LoopbackServer server = new LoopbackServer().mount("/hf/", dir.resolve("served"))) {
      ModelRegistry registry =
          ModelRegistry.builder()
              .huggingFaceBaseUrl(server.url("/hf/"))
              .openAiBaseUrl(server.url("/blob/"))
              .cacheDir(dir.resolve("cache"))
              .build();
      Gpt2Checkpoint c = registry.loadCheckpoint("gpt2-small", DownloadProgress.none());
      assertEquals(SyntheticCheckpoints.hfConfig(), c.config());
      assertEquals(
          List.of(
              "GET /hf/gpt2/resolve/main/config.json",
              "GET /hf/gpt2/resolve/main/model.safetensors"),
          server.requests);
      server.requests.clear();
      registry.loadCheckpoint("gpt2-small", DownloadProgress.none());
      assertEquals(List.of(), server.requests);
    }
  }

  @Test
  void fallsBackToTheOriginalsBlobStorage() throws IOException {
    SyntheticCheckpoints.writeOriginal(
        dir.resolve("served/gpt2/medium"),
        Gpt2CheckpointTest.SMALL_ORIGINAL,
        Gpt2CheckpointTest.randomOriginal(4));
    try (LoopbackServer server = new LoopbackServer().mount("/blob/", dir.resolve("served"))) {
      ModelRegistry registry =
          ModelRegistry.builder()
              .huggingFaceBaseUrl(server.url("/hf/"))
              .openAiBaseUrl(server.url("/blob/"))
              .cacheDir(dir.resolve("cache"))
              .build();
      Gpt2Checkpoint c = registry.loadCheckpoint("gpt2-medium", DownloadProgress.none());
      assertEquals(Gpt2CheckpointTest.SMALL_ORIGINAL, c.config());
      assertEquals("GET /hf/gpt2-medium/resolve/main/config.json", server.requests.get(0));
      assertEquals("GET /blob/gpt2/medium/config.json", server.requests.get(1));
      server.requests.clear();
      assertEquals(
          c.tensors(), registry.loadCheckpoint("gpt2-medium", DownloadProgress.none()).tensors());
      assertEquals(List.of(), server.requests, "a model cached from the blob needs no request");
    }
  }

  @Test
  void failureFromBothSourcesReportsBoth() throws IOException {
    try (LoopbackServer server = new LoopbackServer()) {
      ModelRegistry registry =
          ModelRegistry.builder()
              .huggingFaceBaseUrl(server.url("/hf/"))
              .openAiBaseUrl(server.url("/blob/"))
              .cacheDir(dir.resolve("cache"))
              .build();
      WeightFetchException e =
          assertThrows(
              WeightFetchException.class,
              () -> registry.loadCheckpoint("gpt2-large", DownloadProgress.none()));
      assertTrue(e.getMessage().contains("HTTP 404"), e.getMessage());
      assertTrue(e.getMessage().contains("/blob/gpt2/large/config.json"), e.getMessage());
      assertTrue(
          e.getSuppressed()[0].getMessage().contains("/hf/gpt2-large/resolve/main/config.json"),
          e.getSuppressed()[0].getMessage());
    }
  }

  @Test
  void systemPropertiesOverrideBaseUrlsAndCacheDir() {
    System.setProperty(ModelRegistry.HF_BASE_URL_PROPERTY, "http://127.0.0.1:1/mirror");
    System.setProperty(WeightCache.CACHE_DIR_PROPERTY, dir.toString());
    try {
      ModelRegistry registry = ModelRegistry.fromSystemProperties();
      assertEquals(URI.create("http://127.0.0.1:1/mirror/"), registry.huggingFaceBaseUrl());
      assertEquals(ModelRegistry.DEFAULT_OPENAI_BASE_URL, registry.openAiBaseUrl());
      assertEquals(dir, registry.cacheDir());
      assertEquals(dir, WeightCache.defaultDir());
    } finally {
      System.clearProperty(ModelRegistry.HF_BASE_URL_PROPERTY);
      System.clearProperty(WeightCache.CACHE_DIR_PROPERTY);
    }
    if (System.getenv(WeightCache.CACHE_DIR_ENV) == null) {
      assertEquals(
          Path.of(System.getProperty("user.home"), ".cache", "neuron-explainer"),
          WeightCache.defaultDir());
    }
  }
}
