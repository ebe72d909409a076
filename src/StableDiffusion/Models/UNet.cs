using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Models;

/// <summary>
/// The denoising UNet: (sample [B,C,h,w], timestep, text embeddings [B,77·k,D], further named inputs) → noise prediction
/// [B,4,h,w]. Its inputs are read from the graph: any beyond the three every UNet has (<see cref="ExtraInputs"/>) are
/// supplied per generation by name; the sample's channel count (<see cref="InChannels"/>: 9 for an inpainting UNet) and
/// the output's (<see cref="OutChannels"/>) are read, not assumed equal. With <see cref="UNetShapeSessions"/> it runs fixed-shape sessions (<see cref="Start"/>), one per shape, through
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
    private IReadOnlyList<NamedTensor>? _creatingFor;

    /// <param name="session">The load-time session (released when fixed-shape sessions take over).</param>
    /// <param name="path">The graph's file, for messages and the channel probe.</param>
    /// <param name="shapeSessions">How fixed-shape sessions are made, or null to run the load-time session.</param>
    /// <param name="channels">Channel counts from the UNet's config.json where the graph leaves them symbolic.</param>
    public UNet(InferenceSession session, string path, UNetShapeSessions? shapeSessions = null, (int? In, int? Out) channels = default)
        : base(session, "UNet", path)
    {
        _weights = shapeSessions?.Weights; // owned from here on, even if the graph is refused below
        var known = new[] { "sample", "timestep", "encoder_hidden_states" };
        try
        {
            _sample = Input("sample");
            _timestep = Input("timestep");
            _hidden = Input("encoder_hidden_states");
            _output = Output("out_sample", "sample", "noise_pred");
            var extras = new List<(string, TensorElementType, NodeMetadata)>();
            foreach (var (name, meta) in session.InputMetadata)
            {
                if (name == _sample.Name || name == _timestep.Name || name == _hidden.Name) continue;
                if (meta.ElementDataType is not (TensorElementType.Float or TensorElementType.Float16))
                    throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                        $"The UNet's input '{name}' is {meta.ElementDataType}; only float inputs can be supplied beside {string.Join(", ", known)}.");
                extras.Add((name, meta.ElementDataType, meta));
            }
            ExtraInputs = extras.Select(e => e.Item1).ToArray();
            _extras = extras;
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
        Precision = PrecisionOf(session, FloatType);
        _io = new UNetIo(
            (_sample.Name, _sample.Meta.ElementDataType, _sample.Meta),
            (_timestep.Name, _timestep.Meta.ElementDataType, _timestep.Meta),
            (_hidden.Name, _hidden.Meta.ElementDataType, _hidden.Meta),
            (_output.Name, _output.Meta.ElementDataType, _output.Meta),
            _extras) { OutChannels = FixedDimension(_output.Meta, 1) ?? channels.Out ?? 4 };
        InChannels = FixedDimension(_sample.Meta, 1) ?? channels.In ?? ChannelsFromGraph(path, _sample.Name) ?? 4;
        OutChannels = _io.OutChannels;
        _latentSizeMultiple = new Lazy<int>(() => DownsamplingOf(path));
        if (shapeSessions is not null)
        {
            _binding = shapeSessions;
            _cache = new UNetSessionCache(shapeSessions.CacheSize, CreateBound);
            ReleaseSession(); // every step runs on a fixed-shape session: don't hold the weights twice
        }
    }

    private readonly List<(string, TensorElementType, NodeMetadata)> _extras = [];
    private readonly SharedWeights? _weights;

    public override TensorElementType FloatType => _sample.Meta.ElementDataType;

    /// <summary>Channels of the sample input: 4 latent channels, plus mask and masked-image latents (9) for inpainting UNets.</summary>
    public int InChannels { get; }

    /// <summary>Channels of the prediction (the latent channels).</summary>
    public int OutChannels { get; }

    /// <summary>The graph's inputs beyond sample, timestep and encoder_hidden_states, which a generation supplies by name.</summary>
    public IReadOnlyList<string> ExtraInputs { get; } = [];

    /// <summary>The size the graph fixes for axis <paramref name="axis"/> of extra input <paramref name="name"/>, or null when it is free.</summary>
    public int? ExtraInputDimension(string name, int axis) =>
        _extras.FirstOrDefault(e => e.Item1 == name) is { Item3: { } meta } ? FixedDimension(meta, axis) : null;

    /// <summary>
    /// What the latent height and width must be a multiple of: the UNet's downsampling factor read from its graph (8 for
    /// SD 1.x/2.x, 4 for SDXL), so an image size must be a multiple of this times the VAE factor (64 and 32 pixels). Read
    /// on first use (the graph's nodes, not its weights); 1 when the graph cannot be read here (the session loaded it).
    /// </summary>
    public int LatentSizeMultiple => _latentSizeMultiple.Value;

    private readonly Lazy<int> _latentSizeMultiple;

    private static int DownsamplingOf(string path)
    {
        try
        {
            return Graph.DownsamplingFactor.Of(Graph.OnnxGraphFile.Load(path, loadExternalData: false));
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return 1;
        }
    }

    /// <summary>The sample's channels from the first convolution's weights (the graph without its external weights: cheap).</summary>
    private static int? ChannelsFromGraph(string path, string input)
    {
        try
        {
            return Graph.InputChannels.OfFirstConv(Graph.OnnxGraphFile.Load(path, loadExternalData: false), input);
        }
        catch (Exception e) when (e is IOException or Google.Protobuf.InvalidProtocolBufferException or UnauthorizedAccessException)
        {
            return null; // the session loaded the file; a probe that cannot read it leaves the default
        }
    }

    private static int? FixedDimension(NodeMetadata meta, int axis) =>
        meta.Dimensions.Length > axis && meta.Dimensions[axis] > 0 ? meta.Dimensions[axis] : null;

    /// <summary>"float16" when the graph computes in float16 (float16 inputs, or converted keeping float32 inputs), else "float32".</summary>
    public string Precision { get; }

    /// <summary>The element type of the timestep input (float32, int64 or float16 depending on the exporter).</summary>
    public TensorElementType TimestepType => _timestep.Meta.ElementDataType;

    /// <summary>True when denoising runs on fixed-shape sessions (one per batch and size).</summary>
    public bool UsesFixedShapes => _binding is not null;

    /// <summary>
    /// On the load-time (dynamic-shape) session: bind each loop's inputs and output once, in buffers allocated for its
    /// shape, instead of new tensors every step (the same results; no per-step allocation). Fixed-shape sessions take
    /// theirs from <see cref="UNetShapeSessions.IOBinding"/>.
    /// </summary>
    public bool DynamicIOBinding { get; init; } = true;

    /// <summary>True when denoising runs through IOBinding.</summary>
    public bool UsesIOBinding => _binding?.IOBinding ?? DynamicIOBinding;

    /// <summary>Bytes of the one copy of the weights the fixed-shape sessions share (0 when each holds its own).</summary>
    public long SharedWeightBytes => _weights?.Bytes ?? 0;

    /// <summary>True when the fixed-shape sessions capture and replay CUDA graphs.</summary>
    public bool UsesCudaGraph => _binding?.CudaGraph ?? false;

    /// <summary>The shapes whose fixed-shape sessions are loaded now, most recently used first.</summary>
    public IEnumerable<UNetShape> LoadedShapes => _cache?.Shapes ?? [];

    /// <summary>Fixed-shape sessions created so far (each new or evicted shape costs one session creation).</summary>
    public int SessionsCreated => _cache?.Created ?? 0;

    /// <summary>The free dimensions a fixed-shape session for <paramref name="shape"/> gets (named dimension → size).</summary>
    public IReadOnlyDictionary<string, long> FreeDimensions(UNetShape shape, IReadOnlyList<NamedTensor>? extras = null) => _io.FreeDimensions(shape, extras);

    /// <summary>
    /// Begins a denoising loop of <paramref name="shape"/> (the sample's shape, with <see cref="InChannels"/> channels) with
    /// these text embeddings ([B, sequenceLength, D], B = shape.Batch) and the graph's further inputs by name, constant for
    /// the loop. On fixed-shape sessions this loads (or reuses) the session for the shape and binds them once.
    /// </summary>
    /// <exception cref="ArgumentException">An input the graph takes is not supplied, or one it does not take is.</exception>
    public UNetRun Start(float[] hiddenStates, LatentShape shape, int sequenceLength, IReadOnlyList<NamedTensor>? extras = null)
    {
        extras ??= [];
        int hiddenSize = hiddenStates.Length / (shape.Batch * sequenceLength);
        if (hiddenSize * shape.Batch * sequenceLength != hiddenStates.Length)
            throw new ArgumentException($"{hiddenStates.Length} embedding values do not divide into {shape.Batch} × {sequenceLength} rows.", nameof(hiddenStates));
        if (shape.Channels != InChannels)
            throw new ArgumentException($"The UNet takes a {InChannels}-channel sample; {shape.Channels} channels were given.", nameof(shape));
        var missing = ExtraInputs.Where(name => extras.All(e => e.Name != name)).ToArray();
        if (missing.Length > 0)
            throw new ArgumentException($"The UNet graph '{ModelPath}' takes {string.Join(", ", missing.Select(m => $"'{m}'"))}, which this generation does not supply.", nameof(extras));
        var unknown = extras.Where(e => !ExtraInputs.Contains(e.Name)).Select(e => e.Name).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"The UNet graph '{ModelPath}' has no input {string.Join(", ", unknown.Select(m => $"'{m}'"))}.", nameof(extras));
        var unetShape = new UNetShape(shape.Batch, shape.Channels, shape.Height, shape.Width, sequenceLength, hiddenSize);
        if (_cache is null)
        {
            // The dynamic session, its buffers allocated for this loop's shape (released with the run).
            var loop = new FixedShapeUNetSession(Session, unetShape, _io, DynamicIOBinding, cudaGraph: false, deviceId: 0, ownsSession: false);
            try
            {
                loop.SetConstantInputs(hiddenStates, extras);
            }
            catch
            {
                loop.Dispose();
                throw;
            }
            return new UNetRun(loop, hiddenStates, extras, shape, ownsSession: true);
        }
        _creatingFor = extras;
        var bound = _cache.Get(unetShape);
        _creatingFor = null;
        bound.SetConstantInputs(hiddenStates, extras);
        return new UNetRun(bound, hiddenStates, extras, shape);
    }

    private FixedShapeUNetSession CreateBound(UNetShape shape)
    {
        var session = _binding!.CreateSession(_io.FreeDimensions(shape, _creatingFor), _binding.CudaGraph);
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

    protected override void Dispose(bool disposing)
    {
        if (disposing) _cache?.Dispose();
        base.Dispose(disposing);
        if (disposing) _weights?.Dispose(); // after every session that reads it
    }
}
