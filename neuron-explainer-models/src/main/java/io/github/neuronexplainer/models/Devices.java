package io.github.neuronexplainer.models;

import ai.djl.Device;
import ai.djl.engine.Engine;
import java.util.Objects;

/**
 * Checks that a DJL {@link Device} can hold a model or an autoencoder before anything is loaded
 * onto it. Models and autoencoders load on {@link Device#cpu()} unless told otherwise.
 *
 * <p>Stateless and thread-safe.
 */
public final class Devices {
  private Devices() {}

  /**
   * Returns {@code device} if the PyTorch engine on the class path can use it.
   *
   * @throws IllegalArgumentException naming the device, what the engine sees and how to fix it,
   *     when it is a GPU that this libtorch does not see (a CPU-only libtorch sees none)
   */
  public static Device requireAvailable(Device device) {
    Objects.requireNonNull(device, "device");
    if (!device.isGpu()) {
      return device;
    }
    Engine engine = Engine.getInstance();
    int gpus = engine.getGpuCount();
    if (device.getDeviceId() >= gpus) {
      throw new IllegalArgumentException(
          "Device "
              + device
              + " is not available: the "
              + engine.getEngineName()
              + " engine (libtorch "
              + engine.getVersion()
              + ") sees "
              + gpus
              + (gpus == 1 ? " GPU" : " GPUs")
              + ". Load on Device.cpu() (the default), or put a CUDA build of libtorch on the class"
              + " path or in PYTORCH_LIBRARY_PATH (README, section \"GPU\")");
    }
    return device;
  }
}
