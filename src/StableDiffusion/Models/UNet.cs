using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// The denoising UNet: (sample [B,4,h,w], timestep, text embeddings [B,77,D]) → noise prediction [B,4,h,w].
/// With <see cref="UNetShapeSessions"/> it runs fixed-shape sessions (<see cref="Start"/>), one per shape, through
/// IOBinding, and frees the load-time session, which only served to check the graph and read its inputs.
/// </summary>
public sealed class UNet : OnnxComponent
{
    private readonly (string Name, NodeMetadata Meta) _sample;
    private readonly (string Name, NodeMetadata Meta) _timestep;
    private readonly (string Name, NodeMetadata Meta) _hidden;
    private readonly (string Name, NodeMetadata Meta) _output;
    private readonly UNetIo _io;
    private readonly UNetShapeSessions? _binding;
    private readonly UNetSessionCache? _cache;

    public UNet(InferenceSession session, string path, UNetShapeSessions? shapeSessions = null) : base(session, "UNet", path)
    {
        try
        {
            _sample = Input("sample");
            _timestep = Input("timestep");
            _hidden = Input("encoder_hidden_states");
            _output = Output("out_sample", "sample", "noise_pred");
            RequireFloat(_sample);
            RequireFloat(_hidden);
            if (_timestep.Meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16 or TensorElementType.Double
                or TensorElementType.Int64 or TensorElementType.Int32))
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                    $"The UNet's timestep input is {_timestep.Meta.ElementDataType}; a float or integer type is expected.");
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
        // A graph converted with float32 inputs and outputs (ConvertTo-SdFloat16 -KeepIOTypes) computes in float16 all the same.
        Precision = FloatType == TensorElementType.Float16
            || session.ModelMetadata.CustomMetadataMap.TryGetValue(Conversion.Float16Converter.PrecisionMetadataKey, out var p) && p == "float16"
            ? "float16" : "float32";
        _io = new UNetIo(
            (_sample.Name, _sample.Meta.ElementDataType, _sample.Meta),
            (_timestep.Name, _timestep.Meta.ElementDataType, _timestep.Meta),
            (_hidden.Name, _hidden.Meta.ElementDataType, _hidden.Meta),
            (_output.Name, _output.Meta.ElementDataType, _output.Meta));
        if (shapeSessions is not null)
        {
            _binding = shapeSessions;
            _cache = new UNetSessionCache(shapeSessions.CacheSize, CreateBound);
            ReleaseSession(); // every step runs on a fixed-shape session: don't hold the weights twice
        }
    }

    public override TensorElementType FloatType => _sample.Meta.ElementDataType;

    /// <summary>"float16" when the graph computes in float16 (float16 inputs, or converted keeping float32 inputs), else "float32".</summary>
    public string Precision { get; }

    /// <summary>The element type of the timestep input (float32, int64 or float16 depending on the exporter).</summary>
    public TensorElementType TimestepType => _timestep.Meta.ElementDataType;

    /// <summary>True when denoising runs on fixed-shape sessions (one per batch and size).</summary>
    public bool UsesFixedShapes => _binding is not null;

    /// <summary>True when denoising runs through IOBinding (on fixed-shape sessions).</summary>
    public bool UsesIOBinding => _binding?.IOBinding ?? false;

    /// <summary>True when the fixed-shape sessions capture and replay CUDA graphs.</summary>
    public bool UsesCudaGraph => _binding?.CudaGraph ?? false;

    /// <summary>The shapes whose fixed-shape sessions are loaded now, most recently used first.</summary>
    public IEnumerable<UNetShape> LoadedShapes => _cache?.Shapes ?? [];

    /// <summary>Fixed-shape sessions created so far (each new or evicted shape costs one session creation).</summary>
    public int SessionsCreated => _cache?.Created ?? 0;

    /// <summary>The free dimensions a fixed-shape session for <paramref name="shape"/> gets (named dimension → size).</summary>
    public IReadOnlyDictionary<string, long> FreeDimensions(UNetShape shape) => _io.FreeDimensions(shape);

    /// <summary>
    /// Begins a denoising loop of <paramref name="shape"/> with these text embeddings ([B, sequenceLength, D], B = shape.Batch).
    /// On fixed-shape sessions this loads (or reuses) the session for the shape and binds the embeddings once.
    /// </summary>
    public UNetRun Start(float[] hiddenStates, LatentShape shape, int sequenceLength)
    {
        int hiddenSize = hiddenStates.Length / (shape.Batch * sequenceLength);
        if (hiddenSize * shape.Batch * sequenceLength != hiddenStates.Length)
            throw new ArgumentException($"{hiddenStates.Length} embedding values do not divide into {shape.Batch} × {sequenceLength} rows.", nameof(hiddenStates));
        if (_cache is null) return new UNetRun(this, null, hiddenStates, shape, sequenceLength);
        var bound = _cache.Get(new UNetShape(shape.Batch, shape.Channels, shape.Height, shape.Width, sequenceLength, hiddenSize));
        bound.SetHiddenStates(hiddenStates);
        return new UNetRun(this, bound, hiddenStates, shape, sequenceLength);
    }

    private FixedShapeUNetSession CreateBound(UNetShape shape)
    {
        var session = _binding!.CreateSession(_io.FreeDimensions(shape), _binding.CudaGraph);
        try
        {
            return new FixedShapeUNetSession(session, shape, _io, _binding.IOBinding, _binding.CudaGraph, _binding.DeviceId);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Predicts the noise for <paramref name="sample"/> at <paramref name="timestep"/> into <paramref name="output"/>
    /// on the load-time session (the plain path: new tensors every call). <paramref name="hiddenStates"/> holds one
    /// embedding sequence per batch item.
    /// </summary>
    public void Predict(float[] sample, LatentShape shape, double timestep, float[] hiddenStates, int sequenceLength,
        Span<float> output, CancellationToken cancellation = default)
    {
        int hiddenSize = hiddenStates.Length / (shape.Batch * sequenceLength);
        using var sampleValue = FloatTensor(_sample.Meta, sample, [shape.Batch, shape.Channels, shape.Height, shape.Width]);
        using var hiddenValue = FloatTensor(_hidden.Meta, hiddenStates, [shape.Batch, sequenceLength, hiddenSize]);
        using var timestepValue = TimestepTensor(timestep, shape.Batch);
        using var outputs = Run([_sample.Name, _timestep.Name, _hidden.Name], [sampleValue, timestepValue, hiddenValue], [_output.Name], cancellation);
        CopyOutput(outputs[0], output);
    }

    private OrtValue TimestepTensor(double t, int batch)
    {
        long[] shape = _io.TimestepShape(batch);
        int n = shape.Length == 0 ? 1 : (int)shape[0];
        return _timestep.Meta.ElementDataType switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Filled((float)t, n), shape),
            TensorElementType.Double => OrtValue.CreateTensorValueFromMemory(Filled(t, n), shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(Filled((Float16)(float)t, n), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Filled((long)t, n), shape),
            _ => OrtValue.CreateTensorValueFromMemory(Filled((int)t, n), shape),
        };
    }

    private static T[] Filled<T>(T value, int n)
    {
        var array = new T[n];
        Array.Fill(array, value);
        return array;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _cache?.Dispose();
        base.Dispose(disposing);
    }
}
