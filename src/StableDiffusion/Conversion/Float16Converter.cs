using System.Runtime.InteropServices;
using Google.Protobuf;
using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;
using DataType = StableDiffusion.Graph.Onnx.TensorProto.Types.DataType;

namespace StableDiffusion.Conversion;

/// <summary>
/// Converts a float32 ONNX graph to float16: weights, constants and computation, keeping in float32 what loses too
/// much in float16 — the kept operators of <see cref="Float16ConversionOptions"/> with the arithmetic that builds their
/// arguments, and float arithmetic on shapes and indices (anything computed from integers cast to float) — with Cast
/// nodes where the two precisions meet. Element types are inferred from the graph (<see cref="ElementTypes"/>), so
/// Casts go only onto float tensors.
/// </summary>
public static class Float16Converter
{
    /// <summary>Model metadata written on converted graphs (the pipeline reads it to report float16 under float32 inputs).</summary>
    public const string PrecisionMetadataKey = "stable_diffusion.precision";

    // Arithmetic and data movement that builds the argument of a kept Sin/Cos (t·freq of the timestep embedding).
    private static readonly HashSet<string> ArgumentOps =
        ["Mul", "Add", "Sub", "Div", "Neg", "Cast", "Unsqueeze", "Squeeze", "Reshape", "Expand", "Identity", "Concat", "Slice", "Gather",
         "Transpose", "Flatten", "Tile"];

    private static readonly HashSet<DataType> FloatTypes = [DataType.Float, DataType.Float16, DataType.Double, DataType.Bfloat16];

    /// <summary>Converts <paramref name="file"/>'s main graph in place.</summary>
    /// <exception cref="NotSupportedException">The graph has control flow (If/Loop/Scan).</exception>
    public static Float16ConversionReport Convert(OnnxGraphFile file, Float16ConversionOptions? options = null, string? component = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        options ??= new Float16ConversionOptions();
        var graph = file.Graph;
        var types = ElementTypes.Infer(graph);
        var index = new GraphIndex(graph);
        var keptOps = new HashSet<string>(Float16ConversionOptions.DefaultKeptOps.Concat(options.KeepOps), StringComparer.Ordinal);
        var kept = KeptNodes(graph, types, index, keptOps);
        bool WantsFloat32(NodeProto node, int input) => kept.Contains(node) || IsFloat32Slot(node, input);

        long clamped = 0, bytesBefore = 0, bytesAfter = 0;
        int converted = 0;
        var keptInitializers = new List<string>();
        var rename = new Dictionary<(NodeProto, int), string>(); // consumer input → the float16 copy of a constant

        // Constants (initializers and Constant nodes): float16 in place, float32 when only float32 consumers read them,
        // both when both do (the float16 copy gets a new name).
        var constantCopies = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);
        var newInitializers = new List<TensorProto>();
        foreach (var tensor in graph.Initializer)
        {
            if (tensor.DataType != (int)DataType.Float) continue;
            var bytes = file.GetTensorBytes(tensor);
            bytesBefore += bytes.Length;
            var (f32, f16) = ConsumerNeeds(tensor.Name, index, WantsFloat32);
            if (!f16)
            {
                keptInitializers.Add(tensor.Name);
                bytesAfter += bytes.Length;
                continue;
            }
            var half = ToHalf(bytes.Span, ref clamped);
            bytesAfter += half.Length;
            converted++;
            if (!f32)
            {
                SetHalf(tensor, half);
                continue;
            }
            var copy = new TensorProto { Name = tensor.Name + "__fp16" };
            copy.Dims.AddRange(tensor.Dims);
            SetHalf(copy, half);
            newInitializers.Add(copy);
            bytesAfter += bytes.Length;
            keptInitializers.Add(tensor.Name);
            RedirectFloat16Consumers(tensor.Name, copy.Name, index, WantsFloat32, rename);
        }
        graph.Initializer.AddRange(newInitializers);
        foreach (var node in graph.Node)
        {
            if (node.OpType != "Constant" || !GraphIndex.IsDefaultDomain(node.Domain) || !types.IsFloat32(node.Output[0])) continue;
            var (f32, f16) = ConsumerNeeds(node.Output[0], index, WantsFloat32);
            if (!f16) { keptInitializers.Add(node.Output[0]); continue; }
            var target = node;
            if (f32)
            {
                target = node.Clone();
                target.Name = node.Name.Length > 0 ? node.Name + "__fp16" : "";
                target.Output[0] = node.Output[0] + "__fp16";
                constantCopies[node] = target;
                keptInitializers.Add(node.Output[0]);
                RedirectFloat16Consumers(node.Output[0], target.Output[0], index, WantsFloat32, rename);
            }
            ConstantToHalf(target, ref clamped);
            converted++;
        }

        // The precision each float32 tensor of the original graph has after conversion.
        var constants = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        foreach (var node in graph.Node)
            if (node.OpType == "Constant") constants.Add(node.Output[0]);
        DataType Precision(string name)
        {
            if (index.IsGraphInput(name) && !constants.Contains(name)) return options.KeepIOTypes ? DataType.Float : DataType.Float16;
            var producer = index.Producer(name);
            return producer is not null && !kept.Contains(producer) && producer.OpType != "Constant" ? DataType.Float16 : DataType.Float;
        }

        // Rewrite: attributes of the float16 part, Casts where precisions meet, in graph order.
        var casts = new Dictionary<(string, DataType), string>();
        var castNodes = 0;
        var rewritten = new List<NodeProto>(graph.Node.Count + 16);
        string CastTo(string name, DataType to, List<NodeProto> into)
        {
            if (casts.TryGetValue((name, to), out var existing)) return existing;
            string output = name + (to == DataType.Float16 ? "__to_fp16" : "__to_fp32");
            into.Add(OnnxNodes.Node("Cast", [name], [output], output, "", OnnxNodes.Int("to", (long)to)));
            casts[(name, to)] = output;
            castNodes++;
            return output;
        }
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Constant")
            {
                rewritten.Add(node);
                if (constantCopies.TryGetValue(node, out var copy)) rewritten.Add(copy);
                continue;
            }
            for (int i = 0; i < node.Input.Count; i++)
            {
                var input = node.Input[i];
                if (rename.TryGetValue((node, i), out var copyName)) { node.Input[i] = copyName; continue; }
                if (input.Length == 0 || !types.IsFloat32(input) || constants.Contains(input)) continue;
                var want = WantsFloat32(node, i) ? DataType.Float : DataType.Float16;
                if (Precision(input) != want) node.Input[i] = CastTo(input, want, rewritten);
            }
            if (!kept.Contains(node)) ToFloat16Attributes(node, ref clamped);
            rewritten.Add(node);
        }

        // Graph outputs in the precision asked for.
        var outputType = options.KeepIOTypes ? DataType.Float : DataType.Float16;
        foreach (var output in graph.Output)
        {
            if (ElementTypes.Of(output.Type) != DataType.Float) continue;
            if (Precision(output.Name) != outputType)
            {
                string inner = output.Name + (outputType == DataType.Float ? "__fp16" : "__fp32");
                foreach (var node in rewritten)
                {
                    for (int i = 0; i < node.Output.Count; i++) if (node.Output[i] == output.Name) node.Output[i] = inner;
                    for (int i = 0; i < node.Input.Count; i++) if (node.Input[i] == output.Name) node.Input[i] = inner;
                }
                rewritten.Add(OnnxNodes.Node("Cast", [inner], [output.Name], output.Name + "__cast", "", OnnxNodes.Int("to", (long)outputType)));
                castNodes++;
            }
            output.Type.TensorType.ElemType = (int)outputType;
        }
        foreach (var input in graph.Input)
            if (ElementTypes.Of(input.Type) == DataType.Float && !constants.Contains(input.Name) && !options.KeepIOTypes)
                input.Type.TensorType.ElemType = (int)DataType.Float16;
        foreach (var info in graph.ValueInfo)
            if (ElementTypes.Of(info.Type) == DataType.Float && !constants.Contains(info.Name))
                info.Type.TensorType.ElemType = (int)Precision(info.Name);

        graph.Node.Clear();
        graph.Node.AddRange(rewritten);
        SetMetadata(file.Model, PrecisionMetadataKey, "float16");
        file.InvalidateIndex();
        return new Float16ConversionReport
        {
            Component = component ?? (graph.Name.Length > 0 ? graph.Name : "graph"),
            Nodes = rewritten.Count,
            KeptNodes = kept.Select(n => n.Name.Length > 0 ? n.Name : $"{n.OpType}#{index.PositionOf(n)}").ToArray(),
            CastsInserted = castNodes,
            ConvertedInitializers = converted,
            KeptInitializers = keptInitializers,
            ClampedValues = clamped,
            BytesBefore = bytesBefore,
            BytesAfter = bytesAfter,
        };
    }

    /// <summary>
    /// The nodes that stay float32: kept operators (by type or name) and the arithmetic building a kept Sin/Cos's
    /// argument, and float arithmetic on shapes and indices — integers cast to float and what is computed from them
    /// with constants only.
    /// </summary>
    private static HashSet<NodeProto> KeptNodes(GraphProto graph, ElementTypes types, GraphIndex index, HashSet<string> keptOps)
    {
        var kept = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        bool TouchesFloat32(NodeProto n) => n.Input.Any(types.IsFloat32) || n.Output.Any(types.IsFloat32);
        foreach (var node in graph.Node)
            if (node.OpType != "Constant" && (keptOps.Contains(node.OpType) || node.Name.Length > 0 && keptOps.Contains(node.Name)) && TouchesFloat32(node))
                kept.Add(node);

        var pending = new Stack<NodeProto>(kept.Where(n => n.OpType is "Sin" or "Cos"));
        while (pending.Count > 0)
            foreach (var input in pending.Pop().Input)
                if (types.IsFloat32(input) && index.Producer(input) is { } producer && ArgumentOps.Contains(producer.OpType) && kept.Add(producer))
                    pending.Push(producer);

        var fromIntegers = new HashSet<string>(StringComparer.Ordinal);
        bool IsConstant(string name) => index.Initializer(name) is not null || index.Producer(name) is { OpType: "Constant" };
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Constant") continue;
            bool seed = node.OpType == "Cast" && types.IsFloat32(node.Output[0]) && !FloatTypes.Contains(types[node.Input[0]]);
            var floatInputs = node.Input.Where(types.IsFloat32).ToArray();
            bool derived = floatInputs.Length > 0 && floatInputs.Any(fromIntegers.Contains)
                && floatInputs.All(i => fromIntegers.Contains(i) || IsConstant(i));
            if (!seed && !derived) continue;
            kept.Add(node);
            foreach (var output in node.Output)
                if (types.IsFloat32(output)) fromIntegers.Add(output);
        }
        return kept;
    }

    /// <summary>Inputs that ONNX types as float32 whatever the data's precision (Resize's roi and scales).</summary>
    private static bool IsFloat32Slot(NodeProto node, int input) => node.OpType switch
    {
        "Resize" => input is 1 or 2,
        "Upsample" => input == 1,
        "GroupNorm" when node.Domain == "com.microsoft" => input is 1 or 2,
        _ => false,
    };

    private static (bool Float32, bool Float16) ConsumerNeeds(string name, GraphIndex index, Func<NodeProto, int, bool> wantsFloat32)
    {
        bool f32 = index.IsGraphOutput(name), f16 = false;
        foreach (var consumer in index.Consumers(name))
            for (int i = 0; i < consumer.Input.Count; i++)
                if (consumer.Input[i] == name)
                {
                    if (wantsFloat32(consumer, i)) f32 = true;
                    else f16 = true;
                }
        return (f32, f16);
    }

    private static void RedirectFloat16Consumers(string name, string copy, GraphIndex index, Func<NodeProto, int, bool> wantsFloat32,
        Dictionary<(NodeProto, int), string> rename)
    {
        foreach (var consumer in index.Consumers(name))
            for (int i = 0; i < consumer.Input.Count; i++)
                if (consumer.Input[i] == name && !wantsFloat32(consumer, i)) rename[(consumer, i)] = copy;
    }

    /// <summary>Attributes that make a float16-part node produce float16 (Cast targets, ConstantOfShape values, random dtypes).</summary>
    private static void ToFloat16Attributes(NodeProto node, ref long clamped)
    {
        switch (node.OpType)
        {
            case "Cast":
                if (OnnxNodes.Attribute(node, "to") is { I: (long)DataType.Float } to) to.I = (long)DataType.Float16;
                break;
            case "ConstantOfShape":
                if (OnnxNodes.Attribute(node, "value") is { T: { DataType: (int)DataType.Float } value }) SetHalf(value, ToHalf(TensorData.GetBytes(value).Span, ref clamped));
                else if (OnnxNodes.Attribute(node, "value") is null)
                    node.Attribute.Add(OnnxNodes.Tensor("value", TensorData.Create("", DataType.Float16, new byte[2], 1)));
                break;
            case "RandomNormal" or "RandomUniform" or "RandomNormalLike" or "RandomUniformLike" or "EyeLike" or "Bernoulli":
                if (OnnxNodes.Attribute(node, "dtype") is { } dtype)
                {
                    if (dtype.I == (long)DataType.Float) dtype.I = (long)DataType.Float16;
                }
                else if (node.OpType is "RandomNormal" or "RandomUniform")
                    node.Attribute.Add(OnnxNodes.Int("dtype", (long)DataType.Float16));
                break;
        }
    }

    private static void ConstantToHalf(NodeProto node, ref long clamped)
    {
        for (int i = 0; i < node.Attribute.Count; i++)
        {
            var a = node.Attribute[i];
            TensorProto? value = a.Name switch
            {
                "value" when a.T is not null => a.T,
                "value_float" => TensorData.FromFloats("", [a.F]),
                "value_floats" => TensorData.FromFloats("", a.Floats.ToArray(), a.Floats.Count),
                _ => null,
            };
            if (value is null || value.DataType != (int)DataType.Float) continue;
            var half = ToHalf(TensorData.GetBytes(value).Span, ref clamped);
            var tensor = new TensorProto { Name = value.Name };
            tensor.Dims.AddRange(value.Dims);
            SetHalf(tensor, half);
            node.Attribute[i] = OnnxNodes.Tensor("value", tensor);
        }
    }

    /// <summary>Float32 bytes to float16 (round to nearest even), saturating values beyond ±65504 rather than making them infinite.</summary>
    internal static byte[] ToHalf(ReadOnlySpan<byte> floatBytes, ref long clamped)
    {
        var source = MemoryMarshal.Cast<byte, float>(floatBytes);
        var result = new Half[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            float v = source[i];
            if (float.IsFinite(v) && Math.Abs(v) > 65504f && (float)(Half)v is var h && float.IsInfinity(h))
            {
                v = MathF.CopySign(65504f, v);
                clamped++;
            }
            result[i] = (Half)v;
        }
        return MemoryMarshal.AsBytes(result.AsSpan()).ToArray();
    }

    private static void SetHalf(TensorProto tensor, byte[] half)
    {
        tensor.DataType = (int)DataType.Float16;
        tensor.FloatData.Clear();
        tensor.Int32Data.Clear();
        tensor.ExternalData.Clear();
        tensor.ClearDataLocation();
        tensor.RawData = UnsafeByteOperations.UnsafeWrap(half);
    }

    internal static void SetMetadata(ModelProto model, string key, string value)
    {
        foreach (var entry in model.MetadataProps)
            if (entry.Key == key) { entry.Value = value; return; }
        model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
    }
}
