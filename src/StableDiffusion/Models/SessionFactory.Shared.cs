using Microsoft.ML.OnnxRuntime;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

// Sessions that share one copy of a component's weights (SharedWeights).
public sealed partial class SessionFactory
{
    /// <summary>
    /// Creates the load-time session of a component whose fixed-shape sessions will share its weights: on the CPU the
    /// session also writes the graph as it optimized it to a temporary folder, whose weights are read back into
    /// <paramref name="shared"/> (the folder, emptied of them, is deleted with it). Elsewhere <paramref name="shared"/>
    /// is null and the sessions load the graph as before: with CUDA, AddInitializer with CPU buffers still copies every
    /// weight to the device once per session, and a graph optimized for CUDA is assigned to that provider, so
    /// device-side sharing needs its own design (not measured here).
    /// <paramref name="graph"/> is the rewritten graph (attention slicing) when there is one, else the file is loaded.
    /// </summary>
    internal InferenceSession CreateSharing(string modelPath, OnnxGraphFile? graph, string component, out SharedWeights? shared)
    {
        shared = null;
        if (Effective is not ExecutionProvider.Cpu)
            return graph is null ? Create(modelPath, component) : Create(graph, component);
        var folder = Path.Combine(Path.GetTempPath(), "StableDiffusion", $"{component}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var optimized = Path.Combine(folder, "model.onnx");
        var open = graph is null ? options => new InferenceSession(modelPath, options) : OpenInMemory(graph);
        InferenceSession? session = null;
        try
        {
            // ONNX Runtime warns that an NCHWc-optimized graph is hardware specific: this one never leaves the process.
            session = Create(modelPath, component, options =>
            {
                options.OptimizedModelFilePath = optimized;
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", "weights.bin");
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                return open(options);
            });
            shared = SharedWeights.Load(optimized); // owns the folder from here on
            return session;
        }
        catch
        {
            session?.Dispose();
            if (shared is null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>A fixed-shape session (see <see cref="Create(string, string, IReadOnlyDictionary{string, long}?, bool)"/>) on shared weights.</summary>
    internal InferenceSession Create(SharedWeights shared, string component, IReadOnlyDictionary<string, long>? freeDimensions, bool cudaGraph)
    {
        ArgumentNullException.ThrowIfNull(shared);
        return Create($"{component} (shared weights)", component, freeDimensions, cudaGraph, options =>
        {
            shared.Register(options);
            return new InferenceSession(shared.ModelPath, options, shared.PrePacked);
        });
    }

    /// <summary>Opens a graph held in memory; initializers that still refer to external data are read from its folder.</summary>
    private static Func<SessionOptions, InferenceSession> OpenInMemory(OnnxGraphFile graph)
    {
        var bytes = graph.ToByteArray();
        var folder = graph.BaseDirectory;
        return options =>
        {
            if (folder is not null)
                options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", folder);
            return new InferenceSession(bytes, options);
        };
    }
}
