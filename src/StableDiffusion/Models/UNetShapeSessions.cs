using Microsoft.ML.OnnxRuntime;

namespace StableDiffusion.Models;

/// <summary>
/// How a UNet runs on fixed-shape sessions: <see cref="CreateSession"/> builds a session with the given free
/// dimensions fixed (one per batch and size); up to <see cref="CacheSize"/> of them stay loaded. <see cref="IOBinding"/>
/// binds pre-allocated inputs and outputs that every step reuses; <see cref="CudaGraph"/> keeps them in device memory at
/// fixed addresses and lets the CUDA provider replay one captured graph per step.
/// </summary>
public sealed record UNetShapeSessions(Func<IReadOnlyDictionary<string, long>, bool, InferenceSession> CreateSession)
{
    /// <summary>Fixed-shape sessions kept loaded (each holds its own copy of the weights unless <see cref="Weights"/> is set).</summary>
    public int CacheSize { get; init; } = 1;

    public bool IOBinding { get; init; } = true;

    public bool CudaGraph { get; init; }

    /// <summary>The CUDA device of the CUDA-graph buffers.</summary>
    public int DeviceId { get; init; }

    /// <summary>The one copy of the weights the sessions share (CPU), disposed with the UNet after its sessions.</summary>
    public SharedWeights? Weights { get; init; }
}
