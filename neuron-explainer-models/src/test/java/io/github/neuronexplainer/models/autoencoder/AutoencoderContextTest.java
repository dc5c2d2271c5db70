package io.github.neuronexplainer.models.autoencoder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.sun.net.httpserver.HttpServer;
import io.github.neuronexplainer.core.locations.ActivationLocationType;
import io.github.neuronexplainer.core.locations.NodeType;
import io.github.neuronexplainer.models.TestPack;
import io.github.neuronexplainer.models.weights.WeightFetchException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lazy loading, caching, the disk cache, dead-latent omission and multi-contexts. */
class AutoencoderContextTest {
  private static final TestPack PACK = TestPack.load();
  private static final NDManager M = NDManager.newBaseManager();

  @AfterAll
  static void close() {
    M.close();
  }

  @Test
  void loadsLazilyOncePerPathWithTheNodeTypeOfTheInput() {
    for (SaePack.Family family : SaePack.families(PACK).values()) {
      AutoencoderConfig config = family.safetensorsConfig();
      try (LazyAutoencoderContext ctx = family.context(PACK, config, M)) {
        assertEquals(family.input(), ctx.inputLocation());
        assertEquals(
            family.input() == ActivationLocationType.RESID_DELTA_ATTN
                ? NodeType.ATTENTION_AUTOENCODER_LATENT
                : NodeType.MLP_AUTOENCODER_LATENT,
            ctx.nodeType());
        assertEquals(java.util.List.copyOf(family.ptPaths().keySet()), ctx.layers());
        int first = ctx.layers().get(0);
        Autoencoder ae = ctx.autoencoder(first);
        assertSame(ae, ctx.autoencoder(first), "cached");
        assertEquals(family.nLatents(), ctx.numAutoencoderDirections());
        IllegalArgumentException e =
            assertThrows(IllegalArgumentException.class, () -> ctx.autoencoder(first + 1000));
        assertTrue(e.getMessage().contains("configured layers"), e.getMessage());
      }
    }
  }

  @Test
  void layersSharingAFileShareTheAutoencoder() {
    SaePack.Family family = SaePack.families(PACK).values().iterator().next();
    String path = family.safetensorsConfig().pathByLayer().values().iterator().next();
    AutoencoderConfig config = new AutoencoderConfig(family.input(), Map.of(0, path, 1, path));
    try (LazyAutoencoderContext ctx = family.context(PACK, config, M)) {
      assertSame(ctx.autoencoder(0), ctx.autoencoder(1));
    }
  }

  @Test
  void configsValidateLayersAndExpandPatterns() {
    AutoencoderConfig config =
        AutoencoderConfig.forLayers(ActivationLocationType.RESID_DELTA_MLP, "sae/{layer}.pt", 3);
    assertEquals(Map.of(0, "sae/0.pt", 1, "sae/1.pt", 2, "sae/2.pt"), config.pathByLayer());
    assertEquals(NodeType.MLP_AUTOENCODER_LATENT, config.nodeType());
    assertThrows(
        IllegalArgumentException.class,
        () -> AutoencoderConfig.forLayers(ActivationLocationType.MLP_POST_ACT, "sae.pt", 3));
    assertThrows(
        IllegalArgumentException.class,
        () -> new AutoencoderConfig(ActivationLocationType.MLP_POST_ACT, Map.of()));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new AutoencoderConfig(
                ActivationLocationType.MLP_POST_ACT,
                Map.of(
                    io.github.neuronexplainer.core.locations.LayerIndex.NONE, "a.pt", 0, "b.pt")));
  }

  @Test
  void missingFileSaysWhereItLooked() {
    AutoencoderConfig config =
        new AutoencoderConfig(ActivationLocationType.MLP_POST_ACT, Map.of(0, "nowhere/0.pt"));
    try (LazyAutoencoderContext ctx = LazyAutoencoderContext.of(config, M)) {
      WeightFetchException e = assertThrows(WeightFetchException.class, () -> ctx.autoencoder(0));
      assertTrue(e.getMessage().contains("nowhere/0.pt"), e.getMessage());
    }
  }

  /** Writes an autoencoder whose activation frequencies mark the given latents dead. */
  private static String withFrequencies(Path dir, String name, float[] frequency) {
    int n = frequency.length;
    try (NDManager m = M.newSubManager()) {
      NDArray enc = m.randomNormal(new Shape(n, 4));
      try (Autoencoder ae =
          Autoencoder.of(
              m.zeros(new Shape(4)),
              enc,
              m.zeros(new Shape(n)),
              enc.transpose(),
              LatentActivation.RELU,
              m)) {
        Map<String, Object> sd = ae.stateDict();
        sd.put(
            "latents_activation_frequency",
            io.github.neuronexplainer.models.weights.HostTensor.ofFloats(frequency, n));
        Path file = dir.resolve(name + ".safetensors");
        try (Autoencoder withBuffers = Autoencoder.fromStateDict(sd, name, m)) {
          withBuffers.saveSafetensors(file);
        }
        return file.toString();
      }
    }
  }

  @Test
  void omitDeadLatentsDropsTheSmallestDeadCountFromTheEnd(@TempDir Path dir) {
    // layer 0: 2 dead latents, layer 1: 1 dead (threshold 1e-8) → keep 5 − 1 = 4 everywhere
    String l0 = withFrequencies(dir, "l0", new float[] {0.1f, 0, 0.2f, 1e-9f, 0.3f});
    String l1 = withFrequencies(dir, "l1", new float[] {0.1f, 0.2f, 0.3f, 0.4f, 0});
    AutoencoderConfig config =
        new AutoencoderConfig(ActivationLocationType.MLP_POST_ACT, Map.of(0, l0, 1, l1));
    try (LazyAutoencoderContext ctx =
        LazyAutoencoderContext.builder(config).omitDeadLatents(true).build(M)) {
      IllegalStateException early =
          assertThrows(IllegalStateException.class, ctx::numAutoencoderDirections);
      assertTrue(early.getMessage().contains("warmup"), early.getMessage());
      Autoencoder before = ctx.autoencoder(0);
      float[] encoderRow0 = before.encoderWeight(M).get(0).toFloatArray();
      ctx.warmup();
      assertEquals(4, ctx.numAutoencoderDirections());
      assertEquals(4, ctx.autoencoder(0).nLatents());
      assertEquals(4, ctx.autoencoder(1).nLatents());
      assertNotSame(before, ctx.autoencoder(0));
      // indices are preserved: the first latents are kept
      org.junit.jupiter.api.Assertions.assertArrayEquals(
          encoderRow0, ctx.autoencoder(0).encoderWeight(M).get(0).toFloatArray());
      org.junit.jupiter.api.Assertions.assertArrayEquals(
          new float[] {0.1f, 0, 0.2f, 1e-9f}, ctx.autoencoder(0).latentsActivationFrequency());
    }
    // without the option nothing is dropped
    try (LazyAutoencoderContext ctx = LazyAutoencoderContext.of(config, M)) {
      ctx.warmup();
      assertEquals(5, ctx.numAutoencoderDirections());
    }
  }

  @Test
  void allDeadLatentsAreRefused(@TempDir Path dir) {
    String all = withFrequencies(dir, "dead", new float[] {0, 0, 0});
    AutoencoderConfig config =
        new AutoencoderConfig(ActivationLocationType.RESID_DELTA_ATTN, Map.of(0, all));
    try (LazyAutoencoderContext ctx =
        LazyAutoencoderContext.builder(config).omitDeadLatents(true).build(M)) {
      IllegalStateException e = assertThrows(IllegalStateException.class, ctx::warmup);
      assertTrue(e.getMessage().contains("all zeros"), e.getMessage());
    }
  }

  @Test
  void urlsAreDownloadedOnceIntoTheDiskCache(@TempDir Path cache) throws IOException {
    SaePack.Family family = SaePack.families(PACK).values().iterator().next();
    String relative = family.safetensorsConfig().pathByLayer().values().iterator().next();
    byte[] body = Files.readAllBytes(PACK.data(relative));
    AtomicInteger downloads = new AtomicInteger();
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/sae/",
        exchange -> {
          downloads.incrementAndGet();
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    try {
      String url = "http://127.0.0.1:" + server.getAddress().getPort() + "/sae/layer0.safetensors";
      AutoencoderConfig config = new AutoencoderConfig(family.input(), Map.of(0, url));
      for (int round = 0; round < 2; round++) {
        try (LazyAutoencoderContext ctx =
            LazyAutoencoderContext.builder(config).cacheDir(cache).build(M)) {
          assertEquals(family.nLatents(), ctx.autoencoder(0).nLatents());
        }
      }
      assertEquals(1, downloads.get(), "the second context reads the disk cache");
      try (var files = Files.walk(cache)) {
        assertTrue(files.anyMatch(p -> p.getFileName().toString().equals("layer0.safetensors")));
      }
    } finally {
      server.stop(0);
    }
  }

  @Test
  void multiContextRejectsDuplicateNodeTypesAndResolvesTheDefault() {
    Map<String, SaePack.Family> families = SaePack.families(PACK);
    SaePack.Family mlp = null;
    SaePack.Family residMlp = null;
    SaePack.Family attn = null;
    for (SaePack.Family f : families.values()) {
      switch (f.input()) {
        case MLP_POST_ACT -> mlp = f;
        case RESID_DELTA_MLP -> residMlp = f;
        case RESID_DELTA_ATTN -> attn = f;
        default -> {}
      }
    }
    org.junit.jupiter.api.Assumptions.assumeTrue(mlp != null && residMlp != null && attn != null);
    try (LazyAutoencoderContext a = mlp.context(PACK, mlp.safetensorsConfig(), M);
        LazyAutoencoderContext b = residMlp.context(PACK, residMlp.safetensorsConfig(), M);
        LazyAutoencoderContext c = attn.context(PACK, attn.safetensorsConfig(), M)) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> LazyMultiAutoencoderContext.of(a, b));
      assertTrue(e.getMessage().contains("same node type"), e.getMessage());
      LazyMultiAutoencoderContext multi = LazyMultiAutoencoderContext.of(a, c);
      assertEquals(a, multi.autoencoderContext(NodeType.MLP_AUTOENCODER_LATENT));
      assertEquals(c, multi.autoencoderContext(NodeType.ATTENTION_AUTOENCODER_LATENT));
      assertThrows(
          IllegalStateException.class, () -> multi.autoencoderContext(NodeType.AUTOENCODER_LATENT));
      assertSame(c.autoencoder(0), multi.autoencoder(0, NodeType.ATTENTION_AUTOENCODER_LATENT));
      LazyMultiAutoencoderContext single = LazyMultiAutoencoderContext.of(b);
      assertSame(b, single.autoencoderContext(null));
      single.warmup();
    }
  }

  @Test
  void registryHasTheReleasedFamiliesByUrlPattern() {
    assertEquals(
        java.util.List.of(
            "ae-mlp-post-act-v1",
            "ae-resid-delta-mlp-v1",
            "ae-mlp-post-act-v4",
            "ae-resid-delta-mlp-v4",
            "ae-resid-delta-attn-v4"),
        AutoencoderRegistry.names());
    AutoencoderConfig config = AutoencoderRegistry.config("ae-resid-delta-attn-v4");
    assertEquals(ActivationLocationType.RESID_DELTA_ATTN, config.inputLocation());
    assertEquals(12, config.pathByLayer().size());
    assertEquals(
        "https://openaipublic.blob.core.windows.net/sparse-autoencoder/gpt2-small/resid_delta_attn_v4/autoencoders/5.pt",
        config.pathByLayer().get(5));
    assertEquals(
        "https://openaipublic.blob.core.windows.net/sparse-autoencoder/gpt2-small/mlp_post_act/autoencoders/0.pt",
        AutoencoderRegistry.config("ae-mlp-post-act-v1").pathByLayer().get(0));
    assertEquals(10240, AutoencoderRegistry.entry("ae-resid-delta-attn-v4").nLatents());
    assertEquals(32768, AutoencoderRegistry.entry("ae-mlp-post-act-v4").nLatents());
    assertEquals(3072, AutoencoderRegistry.entry("ae-mlp-post-act-v4").nInputs());
    assertEquals(
        NodeType.MLP_AUTOENCODER_LATENT,
        AutoencoderRegistry.config("ae-resid-delta-mlp-v4").nodeType());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> AutoencoderRegistry.entry("ae-x"));
    assertTrue(e.getMessage().contains("ae-mlp-post-act-v4"), e.getMessage());
  }
}
