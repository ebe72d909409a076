using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

// Memory controls and in-memory graphs (attention slicing) for the session factory.
public sealed partial class SessionFactory
{
    private static readonly object CpuArenaGate = new();
    private static (long Limit, ArenaStrategy Strategy)? _cpuArena;

    /// <summary>The memory controls every session of this factory gets.</summary>
    public MemoryOptions Memory { get; private init; } = MemoryOptions.Default;

    /// <summary>A factory whose sessions use <paramref name="memory"/>.</summary>
    public SessionFactory(ExecutionProvider requested, int deviceId, MemoryOptions? memory) : this(requested, deviceId)
    {
        memory ??= MemoryOptions.Default;
        memory.Validate();
        Memory = memory;
    }

    /// <summary>
    /// Creates a session for a graph held in memory (e.g. a rewritten UNet). Initializers that still refer to external
    /// data are read by ONNX Runtime from the graph's folder (<see cref="OnnxGraphFile.BaseDirectory"/>), so the
    /// weights are never copied through managed memory.
    /// </summary>
    public InferenceSession Create(OnnxGraphFile graph, string component)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return Create(graph.Path ?? $"{component} (in memory)", component, OpenInMemory(graph));
    }

    /// <summary>Applies the arena settings that live on the session options (CPU arena, shared CPU allocator).</summary>
    private void ApplyMemory(SessionOptions options, ExecutionProvider provider)
    {
        if (!Memory.ConfiguresArena) return;
        if (Memory.ArenaStrategy == ArenaStrategy.Disabled)
        {
            options.EnableCpuMemArena = false;
            return;
        }
        if (provider == ExecutionProvider.Cuda) return; // CUDA's arena is configured through the provider options
        options.AddSessionConfigEntry("session.use_env_allocators", "1");
        RegisterCpuArena(Memory.MemoryLimit ?? 0, Memory.ArenaStrategy);
    }

    /// <summary>
    /// ONNX Runtime configures a CPU arena's limit and growth only on an allocator shared by the whole process, and
    /// registers one per process: the first configuration wins, an equal one reuses it, a different one is refused.
    /// </summary>
    private static void RegisterCpuArena(long limit, ArenaStrategy strategy)
    {
        if (limit > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(MemoryOptions.MemoryLimit), limit,
                $"ONNX Runtime's CPU arena takes a limit of at most {uint.MaxValue} bytes (4 GiB - 1); use a smaller limit or none.");
        lock (CpuArenaGate)
        {
            if (_cpuArena is { } current)
            {
                if (current == (limit, strategy)) return;
                throw new ArgumentException(
                    $"This process already uses a shared CPU arena with {Describe(current.Limit, current.Strategy)}; ONNX Runtime allows one per " +
                    $"process, so {Describe(limit, strategy)} cannot be set as well. Use the same memory options, or start a new PowerShell session.",
                    nameof(MemoryOptions));
            }
            using var info = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
            using var config = new OrtArenaCfg((uint)limit, strategy == ArenaStrategy.SameAsRequested ? 1 : 0, -1, -1);
            OrtLog.Env.CreateAndRegisterAllocator(info, config);
            _cpuArena = (limit, strategy);
        }

        static string Describe(long limit, ArenaStrategy strategy) =>
            $"{(limit == 0 ? "no limit" : $"a limit of {MemoryOptions.FormatBytes(limit)}")} and {strategy} growth";
    }
}
