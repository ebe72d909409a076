using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

/// <summary>
/// One copy of a component's weights for all of its CPU sessions (fixed shapes per batch and size, sliced or not).
/// The load-time session writes its graph as ONNX Runtime optimized it (<see cref="SessionFactory.CreateSharing"/>);
/// this reads that graph's weights once into native memory we own and gives them to every later session through
/// SessionOptions.AddInitializer, with one PrePackedWeightsContainer, so a new shape session neither re-reads the model
/// nor copies a weight. Sharing the optimized weights, not the exported ones, is what makes it real on the CPU: the
/// NCHWc transform reorders every Conv weight into a new initializer per session, and MLAS packs every MatMul weight
/// per session unless the packed copies live in a shared container (bench/results/weight-sharing-cpu.md).
/// The shape sessions re-run the optimizers on the already optimized graph: they compute exactly what the load-time
/// (dynamic-shape) session does, not what a session optimized for its shape from the exported graph does (≤ 1.3e-6 apart
/// on float32 images), which is why the pipeline asks for sharing only when told to (PipelineOptions.UNetSharedWeights).
/// Disposed after the sessions that use it (ONNX Runtime reads the buffers in place, it does not copy them).
/// </summary>
public sealed class SharedWeights : IDisposable
{
    private readonly List<(string Name, OrtValue Value, IntPtr Memory)> _weights = [];
    private bool _disposed;

    private SharedWeights(string model) => ModelPath = model;

    /// <summary>
    /// The optimized graph, from which every sharing session is created. Its external data file stays, emptied:
    /// ONNX Runtime checks that the file exists before it takes the weights given instead, and then never reads it.
    /// </summary>
    internal string ModelPath { get; }

    /// <summary>The shared MLAS-packed weights (packed once, by the first session that needs them).</summary>
    internal PrePackedWeightsContainer PrePacked { get; } = new();

    /// <summary>Bytes of the weights held here (the shared copy).</summary>
    public long Bytes { get; private set; }

    /// <summary>Weights shared (the optimized graph's initializers stored as external data).</summary>
    public int Count => _weights.Count;

    /// <summary>
    /// Reads the weights of the optimized graph at <paramref name="modelPath"/> into memory and empties its external
    /// data files; the folder of the graph is deleted with this object.
    /// </summary>
    internal static SharedWeights Load(string modelPath)
    {
        var graph = OnnxGraphFile.Load(modelPath, loadExternalData: false);
        var shared = new SharedWeights(modelPath);
        try
        {
            var files = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tensor in graph.AllInitializers().Where(TensorData.IsExternal))
            {
                var data = ExternalDataReference.Parse(tensor);
                shared.Add(tensor, data, graph.BaseDirectory!);
                files.Add(data.ResolvePath(graph.BaseDirectory!, tensor.Name));
            }
            foreach (var file in files) new FileInfo(file).Open(FileMode.Truncate).Dispose();
            return shared;
        }
        catch
        {
            shared.Dispose();
            throw;
        }
    }

    private unsafe void Add(Graph.Onnx.TensorProto tensor, ExternalDataReference data, string folder)
    {
        using var stream = new FileStream(data.ResolvePath(folder, tensor.Name), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        long length = data.Length ?? stream.Length - data.Offset;
        // 64-byte aligned: MLAS kernels read the buffer in place.
        var memory = (IntPtr)NativeMemory.AlignedAlloc((nuint)Math.Max(length, 1), 64);
        try
        {
            stream.Position = data.Offset;
            for (long done = 0; done < length;)
            {
                int chunk = (int)Math.Min(length - done, 1 << 30);
                stream.ReadExactly(new Span<byte>((byte*)memory + done, chunk));
                done += chunk;
            }
            // ONNX's TensorProto data types and ONNX Runtime's element types share their numbers.
            var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, (TensorElementType)tensor.DataType,
                tensor.Dims.ToArray(), memory, length);
            _weights.Add((tensor.Name, value, memory));
            Bytes += length;
        }
        catch
        {
            NativeMemory.AlignedFree((void*)memory);
            throw;
        }
    }

    /// <summary>
    /// Gives the weights to a session about to be created. On CUDA ONNX Runtime would copy CPU buffers to the device
    /// once per session, so CUDA sessions do not use this (see <see cref="SessionFactory.CreateSharing"/>).
    /// </summary>
    internal void Register(SessionOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var (name, value, _) in _weights) options.AddInitializer(name, value);
    }

    public unsafe void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, value, memory) in _weights)
        {
            value.Dispose();
            NativeMemory.AlignedFree((void*)memory);
        }
        _weights.Clear();
        PrePacked.Dispose();
        try { Directory.Delete(Path.GetDirectoryName(ModelPath)!, recursive: true); }
        catch (IOException) { } // an emptied temporary folder left behind is not worth failing
        catch (UnauthorizedAccessException) { }
    }
}
