using System.Globalization;

namespace StableDiffusion.Models;

/// <summary>
/// Provider options for the CUDA and TensorRT providers, chosen for diffusion: the arena grows by what is asked
/// (kSameAsRequested, so a 512² UNet does not round its activations up to the next power of two), cuDNN searches
/// convolution algorithms exhaustively (shapes are fixed per session, so the search runs once per shape) with the
/// largest workspace it wants, and graph optimization is always on (the session options). The arena's limit comes
/// from the pipeline's <see cref="MemoryOptions"/>.
/// </summary>
public sealed record GpuSettings
{
    /// <summary>How cuDNN picks convolution algorithms.</summary>
    public CudnnConvAlgoSearch ConvAlgoSearch { get; init; } = CudnnConvAlgoSearch.Exhaustive;

    /// <summary>Let cuDNN use as much workspace as its fastest algorithm wants (<c>cudnn_conv_use_max_workspace</c>).</summary>
    public bool ConvUseMaxWorkspace { get; init; } = true;

    /// <summary>
    /// How the CUDA arena grows when set explicitly; null: by what is requested (kSameAsRequested), the diffusion
    /// default, unless the memory controls ask for another strategy than ONNX Runtime's default.
    /// </summary>
    public ArenaStrategy? CudaArenaStrategy { get; init; }

    /// <summary>Run convolutions in NHWC layout (<c>prefer_nhwc</c>): tensor cores like it for float16.</summary>
    public bool PreferNhwc { get; init; }

    /// <summary>
    /// Let float32 matrix products and convolutions use TF32 tensor cores (<c>use_tf32</c>, on in ONNX Runtime by
    /// default). Off here: a float32 model then computes in float32 (measured on an H100 with the fixture: images within
    /// 4e-6 of diffusers' float32 with it off, 4e-3 with it on, for 7 % speed). Float16 computation is not affected.
    /// </summary>
    public bool UseTf32 { get; init; }

    /// <summary>
    /// ONNX Runtime graph optimizers to leave out (<c>optimization.disable_specified_optimizers</c>). By default
    /// BiasSoftmaxFusion: with fixed shapes it fuses attention's Add+Softmax into a CUDA kernel that fails once the scores
    /// reach 2^31 elements (SD at 512², batch 8 with guidance: 16 × 8 heads × 4096²), for no measurable speed-up (H100).
    /// </summary>
    public IReadOnlyList<string> DisabledOptimizers { get; init; } = ["BiasSoftmaxFusion"];

    /// <summary>
    /// The provider options as ONNX Runtime's CUDA provider reads them. <paramref name="cudaGraph"/> turns on
    /// <c>enable_cuda_graph</c> (only for fixed-shape UNet sessions whose inputs and outputs live on the device).
    /// </summary>
    public IReadOnlyDictionary<string, string> CudaOptions(int deviceId, bool cudaGraph)
    {
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
            ["arena_extend_strategy"] = "kSameAsRequested",
            ["cudnn_conv_algo_search"] = ConvAlgoSearch switch
            {
                CudnnConvAlgoSearch.Heuristic => "HEURISTIC",
                CudnnConvAlgoSearch.Default => "DEFAULT",
                _ => "EXHAUSTIVE",
            },
            ["cudnn_conv_use_max_workspace"] = ConvUseMaxWorkspace ? "1" : "0",
            ["prefer_nhwc"] = PreferNhwc ? "1" : "0",
            ["enable_cuda_graph"] = cudaGraph ? "1" : "0",
            ["do_copy_in_default_stream"] = "1",
        };
        options["use_tf32"] = UseTf32 ? "1" : "0";
        return options;
    }

    /// <summary>TensorRT provider options: engines and timing caches kept in <paramref name="cacheDirectory"/> (building one takes minutes).</summary>
    public IReadOnlyDictionary<string, string> TensorRTOptions(int deviceId, bool float16, string cacheDirectory)
    {
        var options = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
            ["trt_fp16_enable"] = float16 ? "1" : "0",
            ["trt_engine_cache_enable"] = "1",
            ["trt_engine_cache_path"] = cacheDirectory,
            ["trt_timing_cache_enable"] = "1",
            ["trt_timing_cache_path"] = cacheDirectory,
        };
        return options;
    }

    /// <summary>
    /// Parses ONNX Runtime's "key=value;key=value;" provider option string (GetCUDAProviderOptionsAsString)
    /// into a sorted dictionary.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseOptionString(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.IndexOf('=');
            if (eq <= 0) throw new FormatException($"'{pair}' in the provider options '{text}' is not key=value.");
            result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }

    /// <summary>
    /// The requested keys ONNX Runtime reports with another value (empty when it applied everything it reports). Keys it
    /// accepts but does not report back (e.g. enable_cuda_graph in 1.31) are not differences.
    /// </summary>
    public static IReadOnlyList<string> Differences(IReadOnlyDictionary<string, string> requested, IReadOnlyDictionary<string, string> applied) =>
        requested.Where(kv => applied.TryGetValue(kv.Key, out var v) && v != kv.Value)
            .Select(kv => $"{kv.Key}: asked {kv.Value}, got {applied[kv.Key]}")
            .ToArray();

    /// <summary>
    /// What the provider runs with: the options read back from ONNX Runtime, plus the requested keys it accepted without
    /// reporting them back.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Effective(IReadOnlyDictionary<string, string> requested, IReadOnlyDictionary<string, string> applied)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in applied) result[k] = v;
        foreach (var (k, v) in requested) result.TryAdd(k, v);
        return result;
    }
}
