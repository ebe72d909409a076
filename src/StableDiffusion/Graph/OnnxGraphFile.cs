using Google.Protobuf;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// An ONNX model in memory (the generated protobuf classes of the official onnx.proto), with the plumbing that
/// exported Stable Diffusion graphs need: external weights beside the model (the v0.12 script's <c>weights.pb</c>,
/// Optimum's <c>model.onnx_data</c>), saving with all weights in one external file when the model passes protobuf's
/// 2 GB limit, and producer/consumer look-ups for graph rewrites.
/// </summary>
public sealed class OnnxGraphFile
{
    /// <summary>The largest protobuf message (2 GB - 1); bigger models must keep their weights external.</summary>
    public const long ProtobufLimit = int.MaxValue;

    /// <summary>Tensors from this size (bytes) go to the external file when saving with external data (onnx's default).</summary>
    public const long DefaultExternalThreshold = 1024;

    private GraphIndex? _index;

    private OnnxGraphFile(ModelProto model, string? path, string? baseDirectory)
    {
        Model = model;
        Path = path;
        BaseDirectory = baseDirectory;
        if (model.Graph is null) throw new FormatException($"The ONNX model{(path is null ? "" : $" '{path}'")} has no graph.");
    }

    public ModelProto Model { get; }

    public GraphProto Graph => Model.Graph;

    /// <summary>The file the model was loaded from, if any.</summary>
    public string? Path { get; }

    /// <summary>The folder external data locations are relative to (the model's folder), if known.</summary>
    public string? BaseDirectory { get; }

    /// <summary>
    /// Reads a model file. With <paramref name="loadExternalData"/> the external weights are read into memory (raw_data)
    /// and the model no longer depends on its folder; without it they stay references that
    /// <see cref="GetTensorBytes"/>, <see cref="LoadExternalData"/> and <see cref="Save(string, string?, long)"/> resolve
    /// against the model's folder (what a 4 GB fp32 UNet needs to avoid holding its weights twice).
    /// </summary>
    public static OnnxGraphFile Load(string path, bool loadExternalData = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"The ONNX model '{full}' does not exist.", full);
        ModelProto model;
        try
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw NotOnnx(full, e);
        }
        var file = new OnnxGraphFile(model, full, System.IO.Path.GetDirectoryName(full));
        if (loadExternalData) file.LoadExternalData();
        return file;
    }

    /// <summary>
    /// The graph outputs declared in a model file, read without parsing its nodes and weights (the protobuf fields
    /// are skipped), so a caller can choose how to load a graph before paying for the whole parse.
    /// </summary>
    public static IReadOnlyList<ValueInfoProto> ReadOutputs(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"The ONNX model '{full}' does not exist.", full);
        const int modelGraph = 7, graphOutput = 12;
        var outputs = new List<ValueInfoProto>();
        try
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using var input = new CodedInputStream(stream);
            for (uint tag; (tag = input.ReadTag()) != 0;)
            {
                if (WireFormat.GetTagFieldNumber(tag) != modelGraph || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                {
                    input.SkipLastField();
                    continue;
                }
                long end = input.ReadLength() + input.Position;
                while (input.Position < end)
                {
                    uint field = input.ReadTag();
                    if (WireFormat.GetTagFieldNumber(field) == graphOutput && WireFormat.GetTagWireType(field) == WireFormat.WireType.LengthDelimited)
                        outputs.Add(ValueInfoProto.Parser.ParseFrom(input.ReadBytes()));
                    else
                        input.SkipLastField();
                }
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw NotOnnx(full, e);
        }
        return outputs;
    }

    /// <summary>Parses serialized model bytes; <paramref name="baseDirectory"/> resolves external data, if the model has any.</summary>
    public static OnnxGraphFile Parse(ReadOnlySpan<byte> bytes, string? baseDirectory = null)
    {
        try
        {
            return new OnnxGraphFile(ModelProto.Parser.ParseFrom(bytes), null, baseDirectory);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new FormatException($"The bytes are not a valid ONNX model (protobuf): {e.Message}", e);
        }
    }

    /// <summary>Wraps a model built in code (tests, converters).</summary>
    public static OnnxGraphFile FromModel(ModelProto model, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new OnnxGraphFile(model, null, baseDirectory);
    }

    /// <summary>A deep copy to rewrite while keeping this one (tensor bytes are immutable and shared, so it is cheap).</summary>
    public OnnxGraphFile Clone() => new(Model.Clone(), Path, BaseDirectory);

    /// <summary>The opset version imported for <paramref name="domain"/> ("" or "ai.onnx" = the default domain), or 0.</summary>
    public long OpsetVersion(string domain = "")
    {
        bool wantDefault = GraphIndex.IsDefaultDomain(domain);
        foreach (var opset in Model.OpsetImport)
            if (wantDefault ? GraphIndex.IsDefaultDomain(opset.Domain) : opset.Domain == domain)
                return opset.Version;
        return 0;
    }

    /// <summary>Imports <paramref name="domain"/> at <paramref name="version"/> unless it is imported already.</summary>
    public void EnsureOpset(string domain, long version)
    {
        if (OpsetVersion(domain) == 0) Model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
    }

    /// <summary>An index of the main graph, cached until <see cref="InvalidateIndex"/> (call it after editing the graph).</summary>
    public GraphIndex Index => _index ??= new GraphIndex(Graph);

    public void InvalidateIndex() => _index = null;

    public IEnumerable<NodeProto> Nodes => Graph.Node;

    public IEnumerable<TensorProto> Initializers => Graph.Initializer;

    /// <summary>The node producing <paramref name="value"/> in the main graph (see <see cref="Index"/>).</summary>
    public NodeProto? Producer(string value) => Index.Producer(value);

    /// <summary>The nodes consuming <paramref name="value"/> in the main graph (see <see cref="Index"/>).</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) => Index.Consumers(value);

    public TensorProto? Initializer(string name) => Index.Initializer(name);

    /// <summary>All nodes, including those inside subgraphs (If/Loop/Scan), depth first.</summary>
    public IEnumerable<NodeProto> AllNodes() => NodesOf(Graph);

    /// <summary>The initializers of the main graph and of every subgraph.</summary>
    public IEnumerable<TensorProto> AllInitializers() => InitializersOf(Graph);

    /// <summary>True when some initializer still refers to an external file.</summary>
    public bool HasExternalData => AllInitializers().Any(TensorData.IsExternal) || AttributeTensors().Any(TensorData.IsExternal);

    /// <summary>The tensor's bytes (raw_data layout), reading external data from the model's folder when needed.</summary>
    public ReadOnlyMemory<byte> GetTensorBytes(TensorProto tensor) => TensorData.GetBytes(tensor, BaseDirectory);

    /// <summary>Reads every external tensor into raw_data, so the model no longer needs its folder.</summary>
    public void LoadExternalData()
    {
        foreach (var tensor in AllInitializers().Concat(AttributeTensors()))
            if (TensorData.IsExternal(tensor)) MakeInline(tensor, TensorData.GetBytes(tensor, BaseDirectory));
    }

    /// <summary>The serialized size with every tensor inline (what a single-file save would need).</summary>
    public long InlineSize()
    {
        long size = Model.CalculateSize();
        foreach (var tensor in AllInitializers().Concat(AttributeTensors()))
            if (TensorData.IsExternal(tensor))
                size += (ExternalDataReference.Parse(tensor).Length ?? 0) + 16;
        return size;
    }

    /// <summary>
    /// The serialized model. External tensors stay references (load the bytes with ONNX Runtime's external-data folder
    /// option, or call <see cref="LoadExternalData"/> first).
    /// </summary>
    public byte[] ToByteArray()
    {
        long size = Model.CalculateSize();
        if (size > ProtobufLimit)
            throw new InvalidOperationException(
                $"The model serializes to {size} bytes, over protobuf's 2 GB limit; save it with external data instead (Save(path, externalDataFile)).");
        return Model.ToByteArray();
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/>. With <paramref name="externalDataFile"/> (a file name in the same
    /// folder) every initializer of at least <paramref name="sizeThreshold"/> bytes goes to that one file, as
    /// <c>onnx.save_model(..., save_as_external_data=True, all_tensors_to_one_file=True)</c> does; without it the
    /// model is written as one file, unless it would pass the 2 GB protobuf limit, in which case the weights go to
    /// "&lt;model file name&gt;_data" beside it (Optimum's convention). Files are written to temporaries first and then
    /// moved into place, so saving over the model's own files is safe.
    /// </summary>
    public void Save(string path, string? externalDataFile = null, long sizeThreshold = DefaultExternalThreshold)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (sizeThreshold < 0) throw new ArgumentOutOfRangeException(nameof(sizeThreshold), sizeThreshold, "The size threshold must be 0 or more bytes.");
        var full = System.IO.Path.GetFullPath(path);
        var folder = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        if (externalDataFile is null && InlineSize() > ProtobufLimit)
            externalDataFile = System.IO.Path.GetFileName(full) + "_data";
        if (externalDataFile is not null && (externalDataFile.Length == 0 || System.IO.Path.GetFileName(externalDataFile) != externalDataFile))
            throw new ArgumentException($"The external data file must be a plain file name in the model's folder, not '{externalDataFile}'.", nameof(externalDataFile));

        // Work on a copy: the in-memory model keeps its inline data and its references to the old files.
        var copy = Model.Clone();
        var tempModel = full + ".tmp-" + Guid.NewGuid().ToString("N");
        string? tempData = null, dataPath = null;
        try
        {
            var tensors = InitializersOf(copy.Graph).ToList();
            if (externalDataFile is null)
            {
                foreach (var tensor in tensors.Concat(AttributeTensorsOf(copy.Graph)))
                    if (TensorData.IsExternal(tensor)) MakeInline(tensor, TensorData.GetBytes(tensor, BaseDirectory));
            }
            else
            {
                dataPath = System.IO.Path.Combine(folder, externalDataFile);
                tempData = dataPath + ".tmp-" + Guid.NewGuid().ToString("N");
                using var data = new FileStream(tempData, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                foreach (var tensor in tensors)
                {
                    var bytes = TensorData.GetBytes(tensor, BaseDirectory);
                    if (bytes.Length < sizeThreshold)
                    {
                        if (TensorData.IsExternal(tensor)) MakeInline(tensor, bytes);
                        continue;
                    }
                    // Page-aligned offsets let ONNX Runtime memory-map large tensors.
                    if (bytes.Length >= 4096 && data.Position % 4096 != 0)
                        data.Write(new byte[4096 - data.Position % 4096]);
                    long offset = data.Position;
                    data.Write(bytes.Span);
                    MakeExternal(tensor, externalDataFile, offset, bytes.Length);
                }
                foreach (var tensor in AttributeTensorsOf(copy.Graph))
                    if (TensorData.IsExternal(tensor)) MakeInline(tensor, TensorData.GetBytes(tensor, BaseDirectory));
            }
            long size = copy.CalculateSize();
            if (size > ProtobufLimit)
                throw new InvalidOperationException(
                    $"The model graph alone serializes to {size} bytes, over protobuf's 2 GB limit, even with its weights external.");
            using (var stream = new FileStream(tempModel, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                copy.WriteTo(stream);
            if (tempData is not null) File.Move(tempData, dataPath!, overwrite: true);
            File.Move(tempModel, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tempModel)) File.Delete(tempModel);
            if (tempData is not null && File.Exists(tempData)) File.Delete(tempData);
        }
    }

    private static FormatException NotOnnx(string path, InvalidProtocolBufferException e) =>
        new($"'{path}' is not a valid ONNX model (protobuf): {e.Message} The file may be truncated or not an ONNX file.", e);

    private IEnumerable<TensorProto> AttributeTensors() => AttributeTensorsOf(Graph);

    private static IEnumerable<NodeProto> NodesOf(GraphProto graph)
    {
        foreach (var node in graph.Node)
        {
            yield return node;
            foreach (var sub in GraphIndex.Subgraphs(node))
                foreach (var inner in NodesOf(sub))
                    yield return inner;
        }
    }

    private static IEnumerable<TensorProto> InitializersOf(GraphProto graph)
    {
        foreach (var t in graph.Initializer) yield return t;
        foreach (var node in graph.Node)
            foreach (var sub in GraphIndex.Subgraphs(node))
                foreach (var t in InitializersOf(sub))
                    yield return t;
    }

    private static IEnumerable<TensorProto> AttributeTensorsOf(GraphProto graph)
    {
        foreach (var node in NodesOf(graph))
            foreach (var attribute in node.Attribute)
            {
                if (attribute.T is not null) yield return attribute.T;
                foreach (var t in attribute.Tensors) yield return t;
            }
    }

    private static void MakeInline(TensorProto tensor, ReadOnlyMemory<byte> bytes)
    {
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(bytes);
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
    }

    private static void MakeExternal(TensorProto tensor, string location, long offset, long length)
    {
        tensor.ClearRawData();
        tensor.FloatData.Clear();
        tensor.Int32Data.Clear();
        tensor.Int64Data.Clear();
        tensor.DoubleData.Clear();
        tensor.Uint64Data.Clear();
        tensor.ExternalData.Clear();
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
    }
}
