using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Rewrites each unfused attention of a graph so that its score, softmax and value product run over head slices one
/// after another: Q, Kᵀ and V are cut on the head axis (the merged [batch·heads, …] layout is viewed as
/// [batch, heads, …] first), every slice runs its own MatMul → (scaling…) → Softmax → MatMul, and a Concat on the
/// head axis rebuilds the output. Each slice only needs the scores of its own heads, so the largest live tensor
/// shrinks by the number of slices.
/// </summary>
/// <remarks>
/// The result is exact by construction: attention rows are independent (batched MatMul, softmax over the last axis,
/// scalar elementwise ops), Q, Kᵀ and V are cut at the same positions, and the last slice runs to the end of the axis,
/// so every row is computed once, by the same kernels, on the same numbers.
/// Each slice's first Slice takes its (always 1) step from the shape of the previous slice's output, a data
/// dependency that makes ONNX Runtime finish one slice — and free its scores — before it starts the next.
/// </remarks>
public static class AttentionSlicer
{
    private const string Prefix = "attention_slicing";

    /// <summary>
    /// Returns a rewritten copy of <paramref name="model"/> (the original is not modified), or no model when the graph
    /// is fused already, has no attention, or none of it can be rewritten safely; <see cref="AttentionSlicingResult.Describe"/> says which.
    /// </summary>
    /// <param name="model">The graph to rewrite (not modified).</param>
    /// <param name="size">Heads per slice.</param>
    /// <param name="chainSlices">
    /// Make each slice wait for the previous one through a data dependency (the default). Without it the slices are
    /// independent branches and ONNX Runtime's execution order decides how many score tensors are alive at once;
    /// only measurements should turn it off.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A fixed slice size exceeds the head count of an attention.</exception>
    public static AttentionSlicingResult Slice(OnnxGraphFile model, AttentionSliceSize size, bool chainSlices = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        var copy = model.Clone();
        var scan = AttentionFinder.Scan(copy);
        var fused = scan.FusedAttention.Select(n => n.Name.Length > 0 ? n.Name : $"{n.Domain}.{n.OpType}").ToList();
        if (fused.Count > 0)
            return new(AttentionSlicingOutcome.AlreadyFused, size, null, [], scan.Skipped, fused);
        if (scan.Blocks.Count == 0)
            return new(scan.Skipped.Count > 0 ? AttentionSlicingOutcome.Unsupported : AttentionSlicingOutcome.NoAttention,
                size, null, [], scan.Skipped, fused);
        var skipped = scan.Skipped.ToList();
        if (copy.OpsetVersion() < 11)
        {
            skipped.AddRange(scan.Blocks.Select(b => new SkippedAttention(b.Name,
                $"the graph uses opset {copy.OpsetVersion()}; slicing needs opset 11 or later (Slice with inputs, negative axes)")));
            return new(AttentionSlicingOutcome.Unsupported, size, null, [], skipped, fused);
        }

        // Resolve every size first: a bad size must fail before anything changes.
        var plans = scan.Blocks.Select(b => (Block: b, PerSlice: size.Resolve(b.Heads, b.Name))).ToList();
        var rewrite = new Rewriter(copy, chainSlices);
        var sliced = new List<SlicedAttention>();
        foreach (var (block, perSlice) in plans)
        {
            int slices = (block.Heads + perSlice - 1) / perSlice;
            if (slices < 2) continue;
            rewrite.Replace(block, perSlice, slices);
            sliced.Add(new SlicedAttention(block.Name, block.Heads, perSlice, slices, block.Layout));
        }
        if (sliced.Count == 0)
            return new(AttentionSlicingOutcome.NothingToSlice, size, null, [], skipped, fused);
        rewrite.Commit();
        copy.InvalidateIndex();
        return new(skipped.Count == 0 ? AttentionSlicingOutcome.Sliced : AttentionSlicingOutcome.PartlySliced,
            size, copy, sliced, skipped, fused);
    }

    /// <summary>Collects replacements, then rebuilds the node list once (keeping it topologically sorted).</summary>
    private sealed class Rewriter
    {
        private readonly OnnxGraphFile _model;
        private readonly GraphProto _graph;
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
        private readonly Dictionary<NodeProto, List<NodeProto>> _replacements = new(ReferenceEqualityComparer.Instance);
        private readonly HashSet<NodeProto> _removed = new(ReferenceEqualityComparer.Instance);

        private readonly bool _chain;

        public Rewriter(OnnxGraphFile model, bool chain)
        {
            _model = model;
            _chain = chain;
            _graph = model.Graph;
            foreach (var n in model.AllNodes())
            {
                _names.UnionWith(n.Output);
                if (n.Name.Length > 0) _names.Add(n.Name);
            }
            foreach (var t in model.AllInitializers()) _names.Add(t.Name);
            foreach (var v in _graph.Input) _names.Add(v.Name);
        }

        public void Replace(AttentionBlock block, int perSlice, int slices)
        {
            var nodes = new List<NodeProto>();
            string scope = $"{block.Name}/{Prefix}";
            string Fresh(string what) => Unique($"{scope}/{what}");
            NodeProto Add(string op, string[] inputs, string what, params AttributeProto[] attributes)
            {
                var output = Fresh(what);
                var node = OnnxNodes.Node(op, inputs, [output], Unique($"{scope}/{what}_node"), "", attributes);
                nodes.Add(node);
                return node;
            }

            // View a merged [batch·heads, a, b] operand as [batch, heads, a, b] (a Reshape is a view, no copy).
            string Split(string operand, string role)
            {
                if (block.Layout == AttentionLayout.Split4D) return operand;
                var shape = Add("Shape", [operand], $"{role}_shape").Output[0];
                var tail = Add("Slice", [shape, Ints(1), Ints(3), Ints(0)], $"{role}_tail").Output[0];
                var target = Add("Concat", [Ints(-1, block.Heads), tail], $"{role}_heads_shape", OnnxNodes.Int("axis", 0)).Output[0];
                return Add("Reshape", [operand, target], $"{role}_heads").Output[0];
            }

            var q = Split(block.Query, "q");
            var k = Split(block.KeyTransposed, "kt");
            var v = Split(block.Value, "v");
            var uniform = new Dictionary<AttentionChainOp, Dictionary<int, string>>();
            foreach (var op in block.ScoreChain.Concat(block.ProbabilityChain))
                uniform[op] = op.UniformOperands.ToDictionary(kv => kv.Key, kv => Initializer(kv.Value, $"{scope}/uniform"));

            var outputs = new string[slices];
            string? dependency = null;
            for (int j = 0; j < slices; j++)
            {
                long start = (long)j * perSlice;
                long end = j == slices - 1 ? long.MaxValue : start + perSlice; // the last slice runs to the end of the axis
                string starts = Ints(start), ends = Ints(end), axes = Ints(1);
                // Step 1, but computed from the previous slice's output: slice j cannot start before slice j-1 is done.
                string steps = dependency ?? Ints(1);
                string s = $"slice{j}";
                var qj = Add("Slice", [q, starts, ends, axes, steps], $"{s}/q").Output[0];
                var kj = Add("Slice", [k, starts, ends, axes, steps], $"{s}/kt").Output[0];
                var vj = Add("Slice", [v, starts, ends, axes, steps], $"{s}/v").Output[0];
                var current = Add("MatMul", [qj, kj], $"{s}/scores").Output[0];
                foreach (var op in block.ScoreChain) current = Copy(op, current, uniform[op], $"{s}/{op.Node.OpType}");
                var softmax = Add("Softmax", [current], $"{s}/softmax", OnnxNodes.Int("axis", -1));
                current = softmax.Output[0];
                foreach (var op in block.ProbabilityChain) current = Copy(op, current, uniform[op], $"{s}/{op.Node.OpType}");
                outputs[j] = Add("MatMul", [current, vj], $"{s}/output").Output[0];
                if (_chain && j < slices - 1)
                {
                    // 1 = shape[0] * 0 + 1, in int64: exact whatever the values, and only the shape is read.
                    var shape = Add("Shape", [outputs[j]], $"{s}/done_shape").Output[0];
                    var first = Add("Slice", [shape, Ints(0), Ints(1), Ints(0)], $"{s}/done_dim").Output[0];
                    var zero = Add("Mul", [first, Ints(0)], $"{s}/done_zero").Output[0];
                    dependency = Add("Add", [zero, Ints(1)], $"{s}/next_step").Output[0];
                }
            }

            if (block.Layout == AttentionLayout.Split4D)
            {
                nodes.Add(OnnxNodes.Node("Concat", outputs, [block.Output], Unique($"{scope}/concat"), "", OnnxNodes.Int("axis", 1)));
            }
            else
            {
                var joined = Add("Concat", outputs, "concat", OnnxNodes.Int("axis", 1)).Output[0];
                var shape = Add("Shape", [joined], "out_shape").Output[0];
                var tail = Add("Slice", [shape, Ints(2), Ints(4), Ints(0)], "out_tail").Output[0];
                var target = Add("Concat", [Ints(-1), tail], "merged_shape", OnnxNodes.Int("axis", 0)).Output[0];
                nodes.Add(OnnxNodes.Node("Reshape", [joined, target], [block.Output], Unique($"{scope}/merge_heads"), ""));
            }

            _replacements[block.ValueMatMul] = nodes;
            _removed.Add(block.ScoreMatMul);
            _removed.Add(block.Softmax);
            _removed.Add(block.ValueMatMul);
            foreach (var op in block.ScoreChain.Concat(block.ProbabilityChain)) _removed.Add(op.Node);

            string Copy(AttentionChainOp op, string input, Dictionary<int, string> replaced, string what)
            {
                var inputs = op.Node.Input.ToArray();
                inputs[op.DataInput] = input;
                foreach (var (index, name) in replaced) inputs[index] = name;
                var node = Add(op.Node.OpType, inputs, what);
                node.Attribute.AddRange(op.Node.Attribute.Select(a => a.Clone()));
                return node.Output[0];
            }
        }

        public void Commit()
        {
            var nodes = new List<NodeProto>(_graph.Node.Count);
            foreach (var node in _graph.Node)
            {
                if (_replacements.TryGetValue(node, out var replacement)) nodes.AddRange(replacement);
                else if (!_removed.Contains(node)) nodes.Add(node);
            }
            _graph.Node.Clear();
            _graph.Node.AddRange(nodes);
            DeadNodes.Remove(_graph);
            DeadNodes.RemoveStaleValueInfo(_graph);
        }

        /// <summary>A shared int64 vector initializer.</summary>
        private string Ints(params long[] values)
        {
            var key = string.Join(",", values);
            if (_constants.TryGetValue(key, out var name)) return name;
            name = Unique($"{Prefix}/const_{key.Replace(long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture), "end").Replace(',', '_')}");
            AddInitializer(TensorData.FromInt64s(name, values, values.Length));
            _constants[key] = name;
            return name;
        }

        private string Initializer(TensorProto value, string what)
        {
            var tensor = value.Clone();
            tensor.Name = Unique(what);
            AddInitializer(tensor);
            return tensor.Name;
        }

        private void AddInitializer(TensorProto tensor)
        {
            _graph.Initializer.Add(tensor);
            // Before IR version 4 every initializer also had to be a graph input.
            if (_model.Model.IrVersion < 4)
            {
                var dims = tensor.Dims.Select(d => (object?)d).ToArray();
                _graph.Input.Add(OnnxNodes.TensorValue(tensor.Name, (TensorProto.Types.DataType)tensor.DataType, dims));
            }
        }

        private string Unique(string name)
        {
            if (_names.Add(name)) return name;
            for (int i = 1; ; i++)
                if (_names.Add($"{name}_{i}")) return $"{name}_{i}";
        }
    }
}
