using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

/// <summary>
/// Creates the ONNX Runtime sessions of one pipeline on one execution provider. <see cref="ExecutionProvider.Auto"/>
/// settles on CUDA or the CPU with the first session and keeps that choice for the others. CUDA and TensorRT
/// provider options are built through ONNX Runtime's options objects and read back from them, so
/// <see cref="ProviderOptions"/> is what the sessions got, not what we meant to ask for.
/// </summary>
public sealed partial class SessionFactory
{
    private IReadOnlyDictionary<string, string> _providerOptions = new SortedDictionary<string, string>();

    public SessionFactory(ExecutionProvider requested, int deviceId = 0)
    {
        if (deviceId < 0) throw new ArgumentOutOfRangeException(nameof(deviceId), deviceId, "The CUDA device id must be 0 or more.");
        Requested = requested;
        DeviceId = deviceId;
        Effective = requested == ExecutionProvider.Auto ? null : requested;
    }

    public ExecutionProvider Requested { get; }
    public int DeviceId { get; }

    /// <summary>The CUDA/TensorRT settings asked for.</summary>
    public GpuSettings Gpu { get; init; } = new();

    /// <summary>Whether TensorRT may build float16 engines (set when the pipeline asks for Float16).</summary>
    public bool TensorRTFloat16 { get; init; }

    /// <summary>The provider the sessions really use (null until the first session for Auto).</summary>
    public ExecutionProvider? Effective { get; private set; }

    /// <summary>Why Auto fell back to the CPU, when it did; the cmdlets show it as a warning.</summary>
    public string? FallbackReason { get; private set; }

    /// <summary>
    /// The provider options of the last session created, as ONNX Runtime reports them (every key, defaults included;
    /// TensorRT's are prefixed "tensorrt.", CUDA's "cuda." when both are in use). Empty on the CPU, whose provider has none.
    /// </summary>
    public IReadOnlyDictionary<string, string> ProviderOptions => _providerOptions;

    /// <summary>Creates a session for one component's graph (external weights are found beside it).</summary>
    public InferenceSession Create(string modelPath, string component) => Create(modelPath, component, null, cudaGraph: false);

    /// <summary>
    /// Creates a session whose free dimensions (named in the graph, e.g. "batch", "height") are fixed to the given
    /// values, so ONNX Runtime plans memory and kernels for one shape; <paramref name="cudaGraph"/> asks the CUDA
    /// provider to capture the whole run as a CUDA graph (inputs and outputs must then live on the device).
    /// </summary>
    public InferenceSession Create(string modelPath, string component, IReadOnlyDictionary<string, long>? freeDimensions, bool cudaGraph) =>
        Create(modelPath, component, freeDimensions, cudaGraph, options => new InferenceSession(modelPath, options));

    /// <summary>A fixed-shape session (see above) for a graph held in memory, e.g. a UNet rewritten for attention slicing.</summary>
    public InferenceSession Create(OnnxGraphFile graph, string component, IReadOnlyDictionary<string, long>? freeDimensions, bool cudaGraph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return Create(graph.Path ?? $"{component} (in memory)", component, freeDimensions, cudaGraph, OpenInMemory(graph));
    }

    private InferenceSession Create(string modelPath, string component, Func<SessionOptions, InferenceSession> open) =>
        Create(modelPath, component, null, false, open);

    private InferenceSession Create(string modelPath, string component, IReadOnlyDictionary<string, long>? freeDimensions, bool cudaGraph,
        Func<SessionOptions, InferenceSession> open)
    {
        _ = OrtLog.Env; // the logging environment must exist before the first session
        if (Effective is null)
        {
            try
            {
                var session = CreateOn(ExecutionProvider.Cuda, modelPath, component, freeDimensions, cudaGraph, open);
                Effective = ExecutionProvider.Cuda;
                return session;
            }
            catch (ModelLoadException e) when (e.Error == ModelLoadError.ProviderUnavailable)
            {
                FallbackReason = e.Message;
                Effective = ExecutionProvider.Cpu;
            }
            catch (OnnxRuntimeException e)
            {
                // The provider loaded but could not build the session (cuDNN missing, no device…): the CPU still can.
                FallbackReason = $"The CUDA provider could not create the {component} session: {e.Message.Trim()}";
                Effective = ExecutionProvider.Cpu;
            }
        }
        if (cudaGraph && Effective is not ExecutionProvider.Cuda)
            throw new ArgumentException($"CUDA graphs need the CUDA provider; this pipeline runs on {Effective}.", nameof(cudaGraph));
        return CreateOn(Effective.Value, modelPath, component, freeDimensions, cudaGraph, open);
    }

    /// <summary>
    /// Plan a memory pattern for fixed-shape sessions. Off by default: on an H100 with the fixture at 512² it raised the
    /// UNet's peak device memory by a third to a half (e.g. 6.6 GB instead of 4.9 GB at batch 1) for no speed.
    /// </summary>
    public bool FixedShapeMemoryPattern { get; init; }

    /// <summary>Threads of each session's intra-op pool (null: ONNX Runtime's default, one per physical core).</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work (null: ONNX Runtime's default, on). Off lowers the CPU a
    /// pipeline burns between runs (e.g. beside other work), at some latency per run.
    /// </summary>
    public bool? ThreadSpinning { get; init; }

    /// <summary>The session options every session gets (before any provider is appended).</summary>
    internal SessionOptions BaseOptions(string component, IReadOnlyDictionary<string, long>? freeDimensions)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Dynamic shapes change with batch and size; a memory pattern planned for one shape regrows the arena for
            // the next. A fixed-shape session could plan its one shape, but that measured higher peaks (see above).
            EnableMemoryPattern = FixedShapeMemoryPattern && freeDimensions is { Count: > 0 },
            LogId = component,
        };
        if (IntraOpThreads is { } threads) options.IntraOpNumThreads = threads;
        if (ThreadSpinning is { } spin) options.AddSessionConfigEntry("session.intra_op.allow_spinning", spin ? "1" : "0");
        if (Gpu.DisabledOptimizers.Count > 0)
            options.AddSessionConfigEntry("optimization.disable_specified_optimizers", string.Join(",", Gpu.DisabledOptimizers));
        if (freeDimensions is not null)
            foreach (var (name, value) in freeDimensions)
                options.AddFreeDimensionOverrideByName(name, value);
        ApplyOverrides(options, component); // fused LoRA weights, when the component has some
        return options;
    }

    private InferenceSession CreateOn(ExecutionProvider provider, string modelPath, string component,
        IReadOnlyDictionary<string, long>? freeDimensions, bool cudaGraph, Func<SessionOptions, InferenceSession> open)
    {
        var options = BaseOptions(component, freeDimensions);
        try
        {
            ApplyMemory(options, provider);
            var applied = provider switch
            {
                ExecutionProvider.Cuda => AppendCuda(options, cudaGraph),
                ExecutionProvider.TensorRT => AppendTensorRT(options, modelPath),
                _ => new SortedDictionary<string, string>(),
            };
            var session = open(options);
            _providerOptions = applied;
            Devices.AddOrUpdate(session, IsGpu(provider) ? $"the GPU (CUDA device {DeviceId})" : "the CPU");
            return session;
        }
        catch (OnnxRuntimeException e) when (IsGpu(provider) && IsOutOfMemory(e.Message))
        {
            throw new DeviceOutOfMemoryException($"loading the {component} graph", e, $"the GPU (CUDA device {DeviceId})");
        }
        catch (OnnxRuntimeException e) when (!IsGpu(provider) || Effective is not null)
        {
            throw Classify(e, provider, modelPath, component);
        }
        finally
        {
            options.Dispose(); // the session keeps what it needs
        }
    }

    /// <summary>True when the graph file has float16 inputs or weights (read on the failure path only: it parses the graph).</summary>
    private static bool HoldsFloat16(string modelPath)
    {
        try
        {
            var graph = OnnxGraphFile.Load(modelPath, loadExternalData: false).Graph;
            const int float16 = (int)Graph.Onnx.TensorProto.Types.DataType.Float16;
            return graph.Input.Any(i => i.Type?.TensorType?.ElemType == float16) || graph.Initializer.Any(t => t.DataType == float16);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool IsGpu(ExecutionProvider provider) => provider is ExecutionProvider.Cuda or ExecutionProvider.TensorRT;

    private ModelLoadException Classify(OnnxRuntimeException e, ExecutionProvider provider, string modelPath, string component)
    {
        string message = e.Message.Trim();
        // ONNX Runtime's CPU provider runs float16 graphs by casting around operators that lack float16 kernels; an
        // operator without any CPU kernel still fails, and for a float16 model the way out is the GPU or the float32 export.
        var missing = MissingKernel().Match(message);
        if (missing.Success && provider == ExecutionProvider.Cpu && HoldsFloat16(modelPath))
            return new ModelLoadException(ModelLoadError.NoFloat16Kernels, modelPath,
                $"The {component} graph is float16, and ONNX Runtime's CPU provider has no kernel for its {missing.Groups["op"].Value} node " +
                $"({message}). Run float16 models with -ExecutionProvider Cuda, or load the float32 export on the CPU (-Precision Float32).", e);
        if (IsGpu(provider) && CudnnFailure().IsMatch(message))
            return new ModelLoadException(ModelLoadError.ProviderUnavailable, "cuDNN",
                $"The CUDA provider loaded but cuDNN failed while creating the {component} session ({message}). " +
                "cuDNN 9 for CUDA 13 (libcudnn.so.9 / cudnn64_9.dll and its sub-libraries) must be on the library path " +
                "(LD_LIBRARY_PATH on Linux, PATH on Windows). Use -ExecutionProvider Cpu to run on the CPU.", e);
        return new ModelLoadException(ModelLoadError.InvalidFile, modelPath,
            $"The {component} graph '{modelPath}' cannot be loaded by ONNX Runtime: {message} " +
            "The file may be corrupt or truncated (re-export or re-download it), or its external weights may be missing.", e);
    }

    /// <summary>
    /// The CUDA provider options asked for: the diffusion defaults of <see cref="Gpu"/>, with the memory controls'
    /// limit, and their arena strategy when one other than ONNX Runtime's default was chosen.
    /// </summary>
    public IReadOnlyDictionary<string, string> RequestedCudaOptions(bool cudaGraph)
    {
        var requested = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in Gpu.CudaOptions(DeviceId, cudaGraph)) requested[key] = value;
        if (Memory.MemoryLimit is { } limit) requested["gpu_mem_limit"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // CUDA always has an arena (Disabled grows it by what is requested too).
        var strategy = Gpu.CudaArenaStrategy ?? (Memory.ArenaStrategy != ArenaStrategy.NextPowerOfTwo ? Memory.ArenaStrategy : ArenaStrategy.SameAsRequested);
        requested["arena_extend_strategy"] = strategy == ArenaStrategy.NextPowerOfTwo ? "kNextPowerOfTwo" : "kSameAsRequested";
        return requested;
    }

    private IReadOnlyDictionary<string, string> AppendCuda(SessionOptions options, bool cudaGraph)
    {
        long position = OrtLog.Position;
        var requested = RequestedCudaOptions(cudaGraph);
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>(requested)); // loads the provider library: CUDA must be there
            var applied = GpuSettings.ParseOptionString(cuda.GetOptions());
            CheckApplied("CUDA", requested, applied);
            options.AppendExecutionProvider_CUDA(cuda);
            return GpuSettings.Effective(requested, applied);
        }
        catch (OnnxRuntimeException e)
        {
            throw CudaUnavailable(e, OrtLog.Since(position));
        }
    }

    private IReadOnlyDictionary<string, string> AppendTensorRT(SessionOptions options, string modelPath)
    {
        long position = OrtLog.Position;
        string cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create),
            "StableDiffusion", "tensorrt", Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(modelPath)))) ?? "model");
        Directory.CreateDirectory(cache);
        var requested = Gpu.TensorRTOptions(DeviceId, TensorRTFloat16, cache);
        try
        {
            using var trt = new OrtTensorRTProviderOptions();
            trt.UpdateOptions(new Dictionary<string, string>(requested));
            var applied = GpuSettings.Effective(requested, GpuSettings.ParseOptionString(trt.GetOptions()));
            CheckApplied("TensorRT", requested, applied);
            options.AppendExecutionProvider_Tensorrt(trt);
            var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in applied) all["tensorrt." + k] = v;
            // Nodes TensorRT cannot take run on CUDA rather than on the CPU.
            foreach (var (k, v) in AppendCuda(options, cudaGraph: false)) all["cuda." + k] = v;
            return all;
        }
        catch (OnnxRuntimeException e)
        {
            throw CudaUnavailable(e, OrtLog.Since(position), "TensorRT");
        }
    }

    private static void CheckApplied(string provider, IReadOnlyDictionary<string, string> requested, IReadOnlyDictionary<string, string> applied)
    {
        var differences = GpuSettings.Differences(requested, applied);
        if (differences.Count > 0)
            throw new InvalidOperationException(
                $"ONNX Runtime's {provider} provider did not apply the options asked for ({string.Join("; ", differences)}). " +
                "This ONNX Runtime build may not support them.");
    }

    /// <summary>Where each session runs ("the CPU", "the GPU (CUDA device 0)"), so that running out of memory names the right device.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<InferenceSession, string> Devices = new();

    /// <summary>The device a session of this process was created on ("the CPU", "the GPU (CUDA device 0)").</summary>
    internal static string DeviceOf(InferenceSession session) => Devices.TryGetValue(session, out var device) ? device : "the device";

    /// <summary>True for ONNX Runtime's ways of saying the device ran out of memory.</summary>
    internal static bool IsOutOfMemory(string message) => OutOfMemory().IsMatch(message);

    /// <summary>Turns ONNX Runtime's generic "failed to load" into a message naming the missing library.</summary>
    internal static ModelLoadException CudaUnavailable(Exception cause, IReadOnlyList<string> nativeLog, string provider = "CUDA")
    {
        string? library = null, detail = null;
        foreach (var line in nativeLog.Append(cause.Message))
        {
            var m = MissingLibrary().Match(line);
            if (m.Success)
            {
                library = m.Groups["lib"].Value;
                detail = m.Groups["why"].Value.Trim();
            }
        }
        string what = library is null
            ? $"ONNX Runtime's {provider} provider failed to start ({cause.Message.Trim()})."
            : $"ONNX Runtime's {provider} provider cannot load {library} ({detail}).";
        string needs = provider == "TensorRT"
            ? " The TensorRT provider needs TensorRT 10 (libnvinfer.so.10 / nvinfer_10.dll) besides CUDA 13 and cuDNN 9 on the library path " +
              "(LD_LIBRARY_PATH on Linux, PATH on Windows). Use -ExecutionProvider Cuda without TensorRT, or Cpu."
            : " The CUDA provider needs an NVIDIA driver with CUDA 13 and cuDNN 9 on the library path " +
              "(LD_LIBRARY_PATH on Linux, PATH on Windows). Use -ExecutionProvider Cpu to run on the CPU.";
        return new ModelLoadException(ModelLoadError.ProviderUnavailable, library ?? $"{provider}ExecutionProvider", what + needs, cause);
    }

    // e.g. "Failed to load library …/libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory"
    [GeneratedRegex(@"with error:\s*(?<lib>[^\s:]+)\s*:\s*(?<why>.+)$|LoadLibrary failed with error (?<why>\d+).*?""(?<lib>[^""]+)""")]
    private static partial Regex MissingLibrary();

    // e.g. "Could not find an implementation for Conv(11) node with name '/conv_in/Conv'" (older) or
    // "Failed to find kernel for com.microsoft.GroupNorm(1) (node:'gn' ep:'CPUExecutionProvider')" (1.31)
    [GeneratedRegex(@"Could not find an implementation for (?<op>\w+)\(\d+\)|Failed to find kernel for (?:[\w.]+\.)?(?<op>\w+)\(\d+\)")]
    private static partial Regex MissingKernel();

    [GeneratedRegex(@"CUDNN|cudnn", RegexOptions.None)]
    private static partial Regex CudnnFailure();

    [GeneratedRegex(@"out of memory|Failed to allocate memory|CUDA_ERROR_OUT_OF_MEMORY|cudaErrorMemoryAllocation|CUBLAS_STATUS_ALLOC_FAILED|CUDNN_STATUS_ALLOC_FAILED|bad_alloc", RegexOptions.IgnoreCase)]
    private static partial Regex OutOfMemory();
}
