using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StableDiffusion.Models;

/// <summary>
/// One network of the pipeline: its session and what its graph declares. Inputs and outputs are float32 on our
/// side; this class converts to and from the graph's element types (float16 exports) at the boundary.
/// </summary>
public abstract class OnnxComponent : IDisposable
{
    private static int _live;
    private int _disposed;
    private InferenceSession? _session;

    /// <summary>Components created and not yet disposed, process-wide (tests check that cancellation leaks none).</summary>
    public static int LiveSessions => Volatile.Read(ref _live);

    protected OnnxComponent(InferenceSession session, string name, string path)
    {
        Interlocked.Increment(ref _live);
        _session = session;
        Name = name;
        ModelPath = path;
    }

    /// <summary>The session created at load time (released by a UNet that runs fixed-shape sessions instead).</summary>
    public InferenceSession Session => _session ?? throw new InvalidOperationException(
        $"The {Name}'s load-time session was released: this pipeline runs the {Name} through fixed-shape sessions.");

    /// <summary>Frees the load-time session (its metadata stays readable: it was copied at load).</summary>
    protected void ReleaseSession()
    {
        _session?.Dispose();
        _session = null;
    }

    /// <summary>
    /// "float16" when the graph computes in float16: float16 inputs, or a graph converted with float32 inputs and outputs
    /// (ConvertTo-SdFloat16 -KeepIOTypes), which says so in its metadata; else "float32".
    /// </summary>
    protected static string PrecisionOf(InferenceSession session, TensorElementType floatType) =>
        floatType == TensorElementType.Float16
        || session.ModelMetadata.CustomMetadataMap.TryGetValue(Conversion.Float16Converter.PrecisionMetadataKey, out var p) && p == "float16"
            ? "float16" : "float32";

    /// <summary>Component name (text_encoder, unet, vae_decoder…).</summary>
    public string Name { get; }

    public string ModelPath { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Interlocked.Decrement(ref _live);
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) ReleaseSession();
    }

    /// <summary>
    /// Runs the graph. Cancelling <paramref name="cancellation"/> terminates a run in flight (ONNX Runtime checks
    /// between kernels), so Ctrl+C in PowerShell stops within one network call, not after it.
    /// </summary>
    protected IDisposableReadOnlyCollection<OrtValue> Run(IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames, CancellationToken cancellation) =>
        Run(Session, inputNames, inputs, outputNames, cancellation);

    /// <summary>Runs another session of this component (a rewritten graph it owns) the same way.</summary>
    protected IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, IReadOnlyCollection<string> inputNames,
        IReadOnlyCollection<OrtValue> inputs, IReadOnlyCollection<string> outputNames, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(session);
        cancellation.ThrowIfCancellationRequested();
        using var options = new RunOptions();
        using var registration = cancellation.Register(() => options.Terminate = true);
        try
        {
            return session.Run(options, inputNames, inputs, outputNames);
        }
        catch (OnnxRuntimeException) when (cancellation.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellation);
        }
        catch (OnnxRuntimeException e) when (SessionFactory.IsOutOfMemory(e.Message))
        {
            throw new DeviceOutOfMemoryException($"in the {Name} on {Describe(inputs)}", e, SessionFactory.DeviceOf(session));
        }
    }

    /// <summary>"[2, 4, 64, 64]" for each input, to say what was running when something failed.</summary>
    internal static string Describe(IEnumerable<OrtValue> inputs) =>
        string.Join(" ", inputs.Select(v => $"[{string.Join(", ", v.GetTensorTypeAndShape().Shape)}]"));

    /// <summary>The named input, or the first float input when the exporter used another name.</summary>
    protected (string Name, NodeMetadata Meta) Input(params string[] names) => Find(Session.InputMetadata, "input", names);

    protected (string Name, NodeMetadata Meta) Output(params string[] names) => Find(Session.OutputMetadata, "output", names);

    private (string, NodeMetadata) Find(IReadOnlyDictionary<string, NodeMetadata> nodes, string kind, string[] names)
    {
        foreach (var n in names)
            if (nodes.TryGetValue(n, out var meta))
                return (n, meta);
        throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
            $"The {Name} graph '{ModelPath}' has no {kind} named {string.Join(" or ", names.Select(n => $"'{n}'"))}; " +
            $"its {kind}s are {string.Join(", ", nodes.Keys.Select(k => $"'{k}'"))}. Is this the right file for the {Name}?");
    }

    protected void RequireFloat((string Name, NodeMetadata Meta) node)
    {
        if (node.Meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                $"The {Name} graph's '{node.Name}' is {node.Meta.ElementDataType}; float32 or float16 is expected.");
    }

    /// <summary>A float tensor input in the element type the graph wants (float32 pinned in place, float16 converted).</summary>
    protected static OrtValue FloatTensor(NodeMetadata meta, float[] data, long[] shape)
    {
        if (meta.ElementDataType == TensorElementType.Float)
            return OrtValue.CreateTensorValueFromMemory(data, shape);
        var half = new Float16[data.Length];
        TensorPrimitives.ConvertToHalf(data, MemoryMarshal.Cast<Float16, Half>(half.AsSpan()));
        return OrtValue.CreateTensorValueFromMemory(half, shape);
    }

    /// <summary>Copies a float32 or float16 output into <paramref name="destination"/> as float32.</summary>
    protected void CopyOutput(OrtValue value, Span<float> destination)
    {
        var info = value.GetTensorTypeAndShape();
        if (info.ElementCount != destination.Length)
            throw new InvalidOperationException(
                $"The {Name} returned {info.ElementCount} values where {destination.Length} were expected (shape [{string.Join(", ", info.Shape)}]).");
        switch (info.ElementDataType)
        {
            case TensorElementType.Float:
                value.GetTensorDataAsSpan<float>().CopyTo(destination);
                break;
            case TensorElementType.Float16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(value.GetTensorDataAsSpan<Float16>()), destination);
                break;
            default:
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                    $"The {Name} output is {info.ElementDataType}; float32 or float16 is expected.");
        }
    }

    /// <summary>The precision of the graph's float inputs (what the user sees as the model's precision).</summary>
    public abstract TensorElementType FloatType { get; }
}
