using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>What <see cref="AttentionFinder.Scan"/> found in a graph.</summary>
public sealed record AttentionScan(
    IReadOnlyList<AttentionBlock> Blocks,
    IReadOnlyList<SkippedAttention> Skipped,
    IReadOnlyList<NodeProto> FusedAttention);

/// <summary>
/// Finds unfused attention in an exported graph: MatMul(Q, Kᵀ) → scalar elementwise ops (Mul/Div scaling, the
/// baddbmm zero term, casts) → Softmax over the last axis → casts → MatMul(·, V), where Q, Kᵀ and V each come from
/// a head split (Reshape to [.., .., heads, dim] and a Transpose bringing heads to axis 1), optionally merged to
/// [batch·heads, …] and scaled before the MatMul. Fused attention (com.microsoft Attention/MultiHeadAttention…, ONNX
/// Attention) is reported separately. Anything that does not fit is listed with the reason, never guessed at.
/// </summary>
public sealed class AttentionFinder
{
    /// <summary>Fused attention operators: their kernels do not build the full score tensor (or manage it themselves).</summary>
    public static readonly IReadOnlySet<string> FusedOperators = new HashSet<string>(StringComparer.Ordinal)
    {
        "Attention", "MultiHeadAttention", "PackedAttention", "PackedMultiHeadAttention", "GroupQueryAttention",
        "DecoderMaskedMultiHeadAttention", "DecoderMaskedSelfAttention", "DecoderAttention", "QAttention",
        "LongformerAttention", "SparseAttention", "PagedAttention",
    };

    private readonly OnnxGraphFile _model;
    private readonly GraphIndex _index;
    private readonly ShapeEvaluator _shapes;
    private readonly long _opset;

    private AttentionFinder(OnnxGraphFile model)
    {
        _model = model;
        _index = new GraphIndex(model.Graph);
        _shapes = new ShapeEvaluator(_index, model.BaseDirectory);
        _opset = model.OpsetVersion();
    }

    public static AttentionScan Scan(OnnxGraphFile model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new AttentionFinder(model).Run();
    }

    /// <summary>True for com.microsoft's fused attention kernels and ONNX's own Attention (opset 23).</summary>
    public static bool IsFusedAttention(NodeProto node) =>
        (node.Domain == "com.microsoft" && FusedOperators.Contains(node.OpType))
        || (GraphIndex.IsDefaultDomain(node.Domain) && node.OpType == "Attention");

    private AttentionScan Run()
    {
        var fused = _model.AllNodes().Where(IsFusedAttention).ToList();
        var blocks = new List<AttentionBlock>();
        var skipped = new List<SkippedAttention>();
        foreach (var node in _model.Graph.Node)
        {
            if (node.OpType != "Softmax" || !GraphIndex.IsDefaultDomain(node.Domain)) continue;
            var name = BlockName(node);
            // A softmax that is not between two MatMuls is not attention (e.g. a classifier head): not reported.
            if (!LooksLikeAttention(node)) continue;
            if (TryMatch(node, name, out var block, out var reason)) blocks.Add(block!);
            else skipped.Add(new SkippedAttention(name, reason!));
        }
        return new AttentionScan(blocks, skipped, fused);
    }

    private static string BlockName(NodeProto softmax)
    {
        var name = softmax.Name.Length > 0 ? softmax.Name : softmax.Output[0];
        int slash = name.LastIndexOf('/');
        return slash > 0 ? name[..slash] : name;
    }

    private bool LooksLikeAttention(NodeProto softmax)
    {
        bool before = false, after = false;
        var back = new Queue<(string Value, int Depth)>([(softmax.Input[0], 0)]);
        while (back.Count > 0 && !before)
        {
            var (value, depth) = back.Dequeue();
            if (_index.Producer(value) is not { } p) continue;
            if (p.OpType is "MatMul" or "FusedMatMul" or "Gemm") before = true;
            else if (depth < 4) foreach (var i in p.Input) back.Enqueue((i, depth + 1));
        }
        var queue = new Queue<(string Value, int Depth)>([(softmax.Output[0], 0)]);
        while (queue.Count > 0 && !after)
        {
            var (value, depth) = queue.Dequeue();
            foreach (var c in _index.Consumers(value))
            {
                if (c.OpType is "MatMul" or "FusedMatMul") { after = true; break; }
                if (depth < 4) foreach (var o in c.Output) queue.Enqueue((o, depth + 1));
            }
        }
        return before && after;
    }

    private bool TryMatch(NodeProto softmax, string name, out AttentionBlock? block, out string? reason)
    {
        block = null;
        // Score side: walk back to the Q·Kᵀ MatMul through scalar elementwise ops.
        var scoreChain = new List<AttentionChainOp>();
        string value = softmax.Input[0];
        NodeProto? scoreMatMul = null;
        for (int guard = 0; guard < 16; guard++)
        {
            if (!SingleUse(value, out reason)) return false;
            var producer = _index.Producer(value);
            if (producer is null) return Fail($"the softmax input '{value}' is not computed by a MatMul", out reason);
            if (IsMatMul(producer)) { scoreMatMul = producer; break; }
            if (!TryChainOp(producer, null, out var op, out reason)) return false;
            scoreChain.Insert(0, op!);
            value = producer.Input[op!.DataInput];
        }
        if (scoreMatMul is null) return Fail("no MatMul found before the softmax", out reason);

        // Probability side: forward to the MatMul with V through casts and scalar ops.
        var probabilityChain = new List<AttentionChainOp>();
        value = softmax.Output[0];
        NodeProto? valueMatMul = null;
        for (int guard = 0; guard < 16; guard++)
        {
            if (!SingleUse(value, out reason)) return false;
            var consumer = _index.Consumers(value)[0];
            if (IsMatMul(consumer) && consumer.Input[0] == value && consumer.Input[1] != value) { valueMatMul = consumer; break; }
            if (!TryChainOp(consumer, value, out var op, out reason)) return false;
            probabilityChain.Add(op!);
            value = consumer.Output[0];
        }
        if (valueMatMul is null) return Fail("no MatMul with the values found after the softmax", out reason);

        // Q, Kᵀ and V must each come from a head split with the same head count and rank.
        (int Heads, int Rank)? shape = null;
        foreach (var (operand, role) in new[] { (scoreMatMul.Input[0], "query"), (scoreMatMul.Input[1], "key"), (valueMatMul.Input[1], "value") })
        {
            if (!TraceHeads(operand, out var heads, out var rank, out var why))
                return Fail($"the {role} operand '{operand}' has no recognisable head split ({why})", out reason);
            if (shape is { } s && (s.Heads != heads || s.Rank != rank))
                return Fail($"the {role} operand has {heads} heads in rank {rank} where the others have {s.Heads} in rank {s.Rank}", out reason);
            shape = (heads, rank);
        }

        // Softmax must normalise the last axis only (opset < 13 flattens from 'axis' on, default 1).
        long axis = OnnxNodes.IntAttribute(softmax, "axis", _opset >= 13 ? -1 : 1);
        if (axis != -1 && axis != shape!.Value.Rank - 1)
            return Fail($"the softmax normalises axis {axis}, not the last axis of the rank-{shape!.Value.Rank} scores", out reason);

        block = new AttentionBlock(name, scoreMatMul, scoreChain, softmax, probabilityChain, valueMatMul, shape!.Value.Heads,
            shape.Value.Rank == 3 ? AttentionLayout.Merged3D : AttentionLayout.Split4D);
        reason = null;
        return true;
    }

    private static bool IsMatMul(NodeProto node) => node.OpType == "MatMul" && GraphIndex.IsDefaultDomain(node.Domain);

    private bool SingleUse(string value, out string? reason)
    {
        if (_index.IsGraphOutput(value)) return Fail($"'{value}' is a graph output", out reason);
        int uses = _index.Consumers(value).Count;
        if (uses != 1) return Fail($"'{value}' has {uses} consumers; slicing would have to keep the whole tensor", out reason);
        reason = null;
        return true;
    }

    /// <summary>
    /// An elementwise op whose only full-size operand is the data (<paramref name="data"/> when known); the others
    /// are scalars or uniform ConstantOfShape tensors.
    /// </summary>
    private bool TryChainOp(NodeProto node, string? data, out AttentionChainOp? op, out string? reason)
    {
        op = null;
        if (!GraphIndex.IsDefaultDomain(node.Domain))
            return Fail($"{node.Domain}.{node.OpType} '{node.Name}' sits between the attention MatMuls", out reason);
        switch (node.OpType)
        {
            case "Identity":
                op = new AttentionChainOp(node, 0, new Dictionary<int, TensorProto>());
                reason = null;
                return true;
            case "Cast":
                var to = (TensorProto.Types.DataType)OnnxNodes.IntAttribute(node, "to", 0);
                if (to is not (TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Float16
                    or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Bfloat16))
                    return Fail($"Cast '{node.Name}' to {to} between the attention MatMuls", out reason);
                op = new AttentionChainOp(node, 0, new Dictionary<int, TensorProto>());
                reason = null;
                return true;
            case "Mul":
            case "Div":
            case "Add":
            case "Sub":
                if (node.Input.Count != 2) return Fail($"{node.OpType} '{node.Name}' has {node.Input.Count} inputs", out reason);
                int dataInput = -1;
                var uniform = new Dictionary<int, TensorProto>();
                for (int i = 0; i < 2; i++)
                {
                    var input = node.Input[i];
                    if (data is not null ? input == data && dataInput < 0 : false) { dataInput = i; continue; }
                    if (IsScalarConstant(input)) continue;
                    if (UniformValue(input) is { } scalar) { uniform[i] = scalar; continue; }
                    if (data is null && dataInput < 0) { dataInput = i; continue; }
                    return Fail($"{node.OpType} '{node.Name}' combines the scores with the tensor '{input}' (a mask or bias that would need slicing too)", out reason);
                }
                if (dataInput < 0) return Fail($"{node.OpType} '{node.Name}' has only constant operands", out reason);
                op = new AttentionChainOp(node, dataInput, uniform);
                reason = null;
                return true;
            default:
                return Fail($"{node.OpType} '{node.Name}' sits between the attention MatMuls", out reason);
        }
    }

    private bool IsScalarConstant(string name) =>
        _index.ConstantValue(name) is { } t && TensorData.ElementCount(t) == 1;

    /// <summary>
    /// The value of a tensor that is one number everywhere: ConstantOfShape(value), optionally combined with a scalar
    /// (diffusers' baddbmm exports <c>ConstantOfShape(0) * beta</c>). Returned as a scalar of the same element type.
    /// </summary>
    private TensorProto? UniformValue(string name)
    {
        var node = _index.Producer(name);
        if (node is null || !GraphIndex.IsDefaultDomain(node.Domain)) return null;
        if (node.OpType == "ConstantOfShape")
        {
            var t = OnnxNodes.Attribute(node, "value")?.T;
            if (t is null) return Scalar(TensorProto.Types.DataType.Float, 0.0, name);
            var values = TensorData.ToDoubles(t);
            return values is { Length: 1 } ? Scalar((TensorProto.Types.DataType)t.DataType, values[0], name) : null;
        }
        if (node.OpType is "Mul" or "Add" or "Sub" or "Div" && node.Input.Count == 2)
        {
            for (int i = 0; i < 2; i++)
            {
                var uniform = UniformValue(node.Input[i]);
                var other = _index.ConstantValue(node.Input[1 - i]);
                if (uniform is null || other is null || TensorData.ElementCount(other) != 1 || other.DataType != uniform.DataType) continue;
                double u = TensorData.ToDoubles(uniform)![0], o = TensorData.ToDoubles(other)![0];
                double a = i == 0 ? u : o, b = i == 0 ? o : u;
                var type = (TensorProto.Types.DataType)uniform.DataType;
                // In the precision ONNX Runtime's kernel computes in: float32 (also for float16, rounded after) or float64.
                double r = type == TensorProto.Types.DataType.Double
                    ? Apply(node.OpType, a, b)
                    : Apply(node.OpType, (float)a, (float)b);
                return Scalar(type, r, name);
            }
        }
        return null;
    }

    private static double Apply(string op, double a, double b) => op switch { "Mul" => a * b, "Add" => a + b, "Sub" => a - b, _ => a / b };

    private static float Apply(string op, float a, float b) => op switch { "Mul" => a * b, "Add" => a + b, "Sub" => a - b, _ => a / b };

    private static TensorProto? Scalar(TensorProto.Types.DataType type, double value, string name)
    {
        switch (type)
        {
            case TensorProto.Types.DataType.Float:
                return TensorData.FromFloats(name + "/uniform", [(float)value]);
            case TensorProto.Types.DataType.Double:
                return TensorData.Create(name + "/uniform", type, BitConverter.GetBytes(value));
            case TensorProto.Types.DataType.Float16:
                return TensorData.Create(name + "/uniform", type, BitConverter.GetBytes((Half)(float)value));
            default:
                return null;
        }
    }

    /// <summary>
    /// Follows a MatMul operand up to its head split: through scalar scaling, casts, transposes that keep the leading
    /// axes, and — for the merged layout — the Reshape to [batch·heads, …]; then a Transpose that moves the heads to
    /// axis 1, fed by a Reshape whose target shape has a constant head count at that position.
    /// </summary>
    private bool TraceHeads(string operand, out int heads, out int rank, out string? reason)
    {
        heads = 0;
        rank = 0;
        int seenRank = 0; // the operand's rank as seen at the MatMul
        bool merged = false;
        var value = operand;
        for (int guard = 0; guard < 16; guard++)
        {
            var node = _index.Producer(value);
            if (node is null) return Fail($"'{value}' is a graph input or constant", out reason);
            if (!GraphIndex.IsDefaultDomain(node.Domain)) return Fail($"{node.Domain}.{node.OpType} '{node.Name}'", out reason);
            switch (node.OpType)
            {
                case "Identity":
                case "Cast":
                    value = node.Input[0];
                    continue;
                case "Mul":
                case "Div":
                    // Scaling before the MatMul: follow the operand that is not a scalar constant.
                    if (node.Input.Count == 2 && IsScalarConstant(node.Input[1])) { value = node.Input[0]; continue; }
                    if (node.OpType == "Mul" && node.Input.Count == 2 && IsScalarConstant(node.Input[0])) { value = node.Input[1]; continue; }
                    if (node.Input.Count == 2 && ComputedScalar(node.Input[1])) { value = node.Input[0]; continue; }
                    return Fail($"{node.OpType} '{node.Name}' by a non-scalar tensor", out reason);
                case "Transpose":
                    var perm = OnnxNodes.Attribute(node, "perm")?.Ints.ToArray();
                    if (perm is null) return Fail($"Transpose '{node.Name}' without perm", out reason);
                    if (seenRank == 0) seenRank = perm.Length;
                    bool keepsLeading = perm.Length == 3 ? perm[0] == 0 : perm.Length == 4 && perm[0] == 0 && perm[1] == 1;
                    if (keepsLeading && (merged ? perm.Length == 4 : perm.Length == seenRank))
                    {
                        value = node.Input[0];
                        continue;
                    }
                    if (perm.Length == 4 && perm[0] == 0 && (merged || seenRank == 4))
                        return HeadSplit(node, perm, out heads, out rank, merged, out reason);
                    return Fail($"Transpose '{node.Name}' with perm [{string.Join(",", perm)}]", out reason);
                case "Reshape":
                    var target = _shapes.Evaluate(node.Input[1]);
                    if (target is null) return Fail($"the target shape of Reshape '{node.Name}' is not traceable", out reason);
                    if (seenRank == 0) seenRank = target.Length;
                    if (!merged && target.Length == 3 && seenRank == 3)
                    {
                        merged = true;
                        value = node.Input[0];
                        continue;
                    }
                    return Fail($"Reshape '{node.Name}' to rank {target.Length}", out reason);
                default:
                    return Fail($"{node.OpType} '{node.Name}'", out reason);
            }
        }
        return Fail("the operand chain is too long", out reason);
    }

    private bool HeadSplit(NodeProto transpose, long[] perm, out int heads, out int rank, bool merged, out string? reason)
    {
        heads = 0;
        rank = merged ? 3 : 4;
        var reshape = _index.Producer(transpose.Input[0]);
        if (reshape is not { OpType: "Reshape" } || !GraphIndex.IsDefaultDomain(reshape.Domain))
            return Fail($"the head Transpose '{transpose.Name}' is not fed by a Reshape", out reason);
        var target = _shapes.Evaluate(reshape.Input[1]);
        if (target is not { Length: 4 })
            return Fail($"the target shape of the head Reshape '{reshape.Name}' is not a traceable rank-4 shape", out reason);
        if (target[perm[1]] is not { } h || h < 1 || h > 4096)
            return Fail($"the head count of Reshape '{reshape.Name}' is not a constant", out reason);
        heads = (int)h;
        reason = null;
        return true;
    }

    /// <summary>A value computed from shapes only (no graph input data flows into it): torch's SDPA scale.</summary>
    private bool ComputedScalar(string name)
    {
        var stack = new Stack<string>([name]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (stack.Count > 0)
        {
            var v = stack.Pop();
            if (!seen.Add(v)) continue;
            if (_index.ConstantValue(v) is { } c) { if (TensorData.ElementCount(c) > 1) return false; continue; }
            var node = _index.Producer(v);
            if (node is null || seen.Count > 32) return false;
            if (node.OpType == "Shape") continue; // only the shape of its input is read
            if (node.OpType is not ("Cast" or "Sqrt" or "Div" or "Mul" or "Gather" or "Slice" or "Reciprocal" or "Squeeze" or "Unsqueeze" or "Identity"))
                return false;
            foreach (var i in node.Input)
                if (i.Length > 0) stack.Push(i);
        }
        return true;
    }

    private static bool Fail(string why, out string? reason)
    {
        reason = why;
        return false;
    }
}
