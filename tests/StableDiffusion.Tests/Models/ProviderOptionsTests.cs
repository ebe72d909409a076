using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// Provider-option plumbing. The CUDA provider's options object only exists once its library loads (ONNX Runtime loads
/// it to parse the options), so without CUDA these tests prove the clear error; with CUDA, that the options read back
/// from ONNX Runtime are the ones asked for.
/// </summary>
public sealed class ProviderOptionsTests
{
    private static string UNetPath => Path.Combine(Fixtures.TinySd, "unet", "model.onnx");

    [Fact]
    public void DiffusionDefaultsUseOnnxRuntimesOptionNames()
    {
        var options = new SessionFactory(ExecutionProvider.Cuda, deviceId: 1).RequestedCudaOptions(cudaGraph: false);
        Assert.Equal("1", options["device_id"]);
        Assert.Equal("kSameAsRequested", options["arena_extend_strategy"]);
        Assert.Equal("EXHAUSTIVE", options["cudnn_conv_algo_search"]);
        Assert.Equal("1", options["cudnn_conv_use_max_workspace"]);
        Assert.Equal("0", options["enable_cuda_graph"]);
        Assert.Equal("0", options["use_tf32"]); // a float32 model computes in float32 unless TF32 is allowed
        Assert.False(options.ContainsKey("gpu_mem_limit")); // no limit unless asked

        var tuned = new SessionFactory(ExecutionProvider.Cuda, 0, new MemoryOptions { MemoryLimit = 6L << 30 })
        {
            Gpu = new GpuSettings { ConvAlgoSearch = CudnnConvAlgoSearch.Heuristic, ConvUseMaxWorkspace = false, PreferNhwc = true, UseTf32 = true },
        }.RequestedCudaOptions(cudaGraph: true);
        Assert.Equal("1", tuned["use_tf32"]);
        Assert.Equal("HEURISTIC", tuned["cudnn_conv_algo_search"]);
        Assert.Equal("0", tuned["cudnn_conv_use_max_workspace"]);
        Assert.Equal("1", tuned["prefer_nhwc"]);
        Assert.Equal("6442450944", tuned["gpu_mem_limit"]);
        Assert.Equal("kSameAsRequested", tuned["arena_extend_strategy"]);
        Assert.Equal("1", tuned["enable_cuda_graph"]);
        Assert.Equal("DEFAULT", new GpuSettings { ConvAlgoSearch = CudnnConvAlgoSearch.Default }.CudaOptions(0, false)["cudnn_conv_algo_search"]);

        // ONNX Runtime's own growth only when asked for explicitly (New-SdPipeline -ArenaStrategy NextPowerOfTwo).
        var doubling = new SessionFactory(ExecutionProvider.Cuda) { Gpu = new GpuSettings { CudaArenaStrategy = ArenaStrategy.NextPowerOfTwo } };
        Assert.Equal("kNextPowerOfTwo", doubling.RequestedCudaOptions(false)["arena_extend_strategy"]);
        Assert.Equal(["BiasSoftmaxFusion"], new GpuSettings().DisabledOptimizers);
    }

    [Fact]
    public void OptionStringsParseAndDifferencesAreNamed()
    {
        // The layout of GetCUDAProviderOptionsAsString: key=value pairs separated by ';'.
        var parsed = GpuSettings.ParseOptionString("device_id=0;gpu_mem_limit=18446744073709551615;arena_extend_strategy=kSameAsRequested;");
        Assert.Equal(3, parsed.Count);
        Assert.Equal("18446744073709551615", parsed["gpu_mem_limit"]);
        Assert.Throws<FormatException>(() => GpuSettings.ParseOptionString("device_id"));
        var asked = new Dictionary<string, string> { ["device_id"] = "1", ["enable_cuda_graph"] = "1" };
        Assert.Equal(["device_id: asked 1, got 0"], GpuSettings.Differences(asked, parsed));
        // ONNX Runtime 1.31 accepts enable_cuda_graph but does not report it back: not a difference, and shown as asked.
        Assert.Empty(GpuSettings.Differences(new Dictionary<string, string> { ["device_id"] = "0", ["enable_cuda_graph"] = "1" }, parsed));
        var effective = GpuSettings.Effective(asked, parsed);
        Assert.Equal("0", effective["device_id"]);
        Assert.Equal("1", effective["enable_cuda_graph"]);
        Assert.Equal(4, effective.Count);
    }

    [Fact]
    public void CudaEitherAppliesWhatWasAskedOrNamesTheMissingLibrary()
    {
        var factory = new SessionFactory(ExecutionProvider.Cuda, 0, new MemoryOptions { MemoryLimit = 1L << 30 })
        {
            Gpu = new GpuSettings { ConvAlgoSearch = CudnnConvAlgoSearch.Heuristic },
        };
        if (CudaRuntime.IsAvailable)
        {
            using var session = factory.Create(UNetPath, "unet");
            foreach (var (key, value) in factory.RequestedCudaOptions(cudaGraph: false))
                Assert.Equal(value, factory.ProviderOptions[key]);
            return;
        }
        var e = Assert.Throws<ModelLoadException>(() => factory.Create(UNetPath, "unet"));
        Assert.Equal(ModelLoadError.ProviderUnavailable, e.Error);
        Assert.Matches(@"^lib\w+\.so(\.\d+)*$|\.dll$", e.Target); // the library at fault, e.g. libcublasLt.so.13
        Assert.Contains(e.Target, e.Message);
        Assert.Contains("CUDA 13 and cuDNN 9", e.Message);
        Assert.Contains("-ExecutionProvider Cpu", e.Message);
    }

    [Fact]
    public void TensorRTWithoutItsLibrariesIsAClearError()
    {
        if (CudaRuntime.IsAvailable) return; // TensorRT may or may not be installed beside CUDA; nothing general to assert
        var e = Assert.Throws<ModelLoadException>(() => new SessionFactory(ExecutionProvider.TensorRT).Create(UNetPath, "unet"));
        Assert.Equal(ModelLoadError.ProviderUnavailable, e.Error);
        Assert.Contains("TensorRT 10", e.Message);
        Assert.Contains("cannot load", e.Message);
    }

    [Fact]
    public void AutoFallsBackToTheCpuAndSaysWhy()
    {
        if (CudaRuntime.IsAvailable) return;
        var factory = new SessionFactory(ExecutionProvider.Auto);
        using var session = factory.Create(UNetPath, "unet");
        Assert.Equal(ExecutionProvider.Cpu, factory.Effective);
        Assert.Contains("CUDA 13", factory.FallbackReason);
    }

    [Fact]
    public void PrecisionMustMatchTheModel()
    {
        var cpu = new PipelineOptions { ExecutionProvider = ExecutionProvider.Cpu };
        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionPipeline.Load(Fixtures.TinySd, cpu with { Precision = ModelPrecision.Float16 }));
        Assert.Equal(ModelLoadError.PrecisionMismatch, e.Error);
        Assert.Contains("ConvertTo-SdFloat16", e.Message);
        e = Assert.Throws<ModelLoadException>(() => StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io, cpu with { Precision = ModelPrecision.Float32 }));
        Assert.Equal(ModelLoadError.PrecisionMismatch, e.Error);
        Assert.Contains("float16 export", e.Message);
        using var fp16 = StableDiffusionPipeline.Load(Fixtures.TinySdFp16Io, cpu with { Precision = ModelPrecision.Float16 });
        Assert.Equal("float16", fp16.Precision);
        using var fp32 = StableDiffusionPipeline.Load(Fixtures.TinySd, cpu with { Precision = ModelPrecision.Float32 });
        Assert.Equal("float32", fp32.Precision);
    }

    [Theory]
    // Messages of ONNX Runtime's BFC arena and CUDA provider when the device is full.
    [InlineData("Failed to allocate memory for requested buffer of size 2147483648", true)]
    [InlineData("CUDA failure 2: out of memory ; GPU=0 ; hostname=x ; file=cuda_allocator.cc", true)]
    [InlineData("CUBLAS failure 3: CUBLAS_STATUS_ALLOC_FAILED", true)]
    [InlineData("Non-zero status code returned while running Conv node. Name:'/conv_in/Conv'", false)]
    public void OutOfDeviceMemoryIsRecognised(string message, bool expected) => Assert.Equal(expected, SessionFactory.IsOutOfMemory(message));

    [Fact]
    public void OutOfDeviceMemorySuggestsASmallerBatchAndAttentionSlicing()
    {
        var e = new DeviceOutOfMemoryException("in the UNet (batch 16, latent 4×64×64, text 77×768)", new InvalidOperationException("Failed to allocate memory"));
        Assert.Contains("batch 16", e.Message);
        Assert.Contains("-BatchSize 1", e.Message);
        Assert.Contains("attention slicing", e.Message);
        Assert.IsAssignableFrom<OutOfMemoryException>(e); // the cmdlets report it as ResourceUnavailable
    }
}
