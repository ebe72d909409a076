using System.Globalization;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Makes a VAE encoder output its latent distribution's parameters instead of a sample drawn inside the graph.
/// diffusers' v0.12 export script (and Optimum before 1.23) traced <c>latent_dist.sample()</c>, which leaves an
/// unseeded RandomNormal(Like) in the graph; seeded image-to-image needs the parameters, sampled with the image's own
/// generator, which is the contract of Optimum ≥ 1.23 (<c>latent_parameters</c> = mean ‖ logvar on channels).
/// </summary>
/// <remarks>
/// The parameters are found by structure, not by value names (exporters generate those): the random draw eps feeds
/// Mul(std, eps) → Add(mean, ·), with std = Exp(0.5 · Clip(logvar, -30, 20)) and mean, logvar the first and second
/// channel halves of one tensor P — two Slices on axis 1 (torch.chunk in older exporters) or one Split. Identity and
/// Cast nodes in between are looked through. P becomes the only output and the sampling subgraph is removed, so the
/// rewritten graph computes exactly the nodes up to P of the original.
/// </remarks>
public static class LatentParametersRewriter
{
    /// <summary>The output name of the Optimum ≥ 1.23 contract, which the rewritten graph follows.</summary>
    public const string OutputName = "latent_parameters";

    private const string Expected =
        "mean + exp(0.5·clip(logvar, -30, 20))·eps, with mean and logvar the two channel halves of one tensor";

    /// <summary>
    /// Returns <paramref name="model"/> itself when it outputs <c>latent_parameters</c> already, a rewritten copy when it
    /// samples a recognized distribution inside, and no model (with the reason in
    /// <see cref="LatentParametersGraph.Description"/>) otherwise. <paramref name="model"/> is not modified.
    /// </summary>
    public static LatentParametersGraph Rewrite(OnnxGraphFile model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        if (graph.Output.FirstOrDefault(o => o.Name == OutputName) is { } existing)
            return new(model, false, Dim(existing, 1) is long c && c > 0 && c % 2 == 0 ? (int)(c / 2) : null,
                $"the graph outputs '{OutputName}' already");

        var random = graph.Node.Where(IsRandom).ToList();
        if (random.Count == 0)
            return Refuse($"the graph outputs {string.Join(", ", graph.Output.Select(Describe))} and draws nothing at random: it computes " +
                $"the latent without sampling{(graph.Output.Any(o => Dim(o, 1) == 4) ? " (4 channels: presumably latent_dist.mode(), the distribution's mean)" : "")}, " +
                "while diffusers samples the latent distribution with each image's generator, so seeded images cannot be reproduced through it.");

        var matcher = new Matcher(model);
        var found = random.SelectMany(matcher.Samplings).ToList();
        var parameters = found.Select(f => f.Parameters).Distinct(StringComparer.Ordinal).ToList();
        string drawn = string.Join(", ", random.Select(r => $"{r.OpType} '{r.Name}'"));
        if (parameters.Count == 0)
            return Refuse($"the graph draws its sample inside with {drawn}, unseeded, so it cannot reproduce seeded images, and the " +
                $"distribution it samples was not recognized (expected {Expected}).");
        if (parameters.Count > 1)
            return Refuse($"the graph samples {parameters.Count} latent distributions ({string.Join(", ", parameters.Select(p => $"'{p}'"))}); " +
                "a VAE encoder samples one.");
        return Expose(model, matcher, found[0], drawn);
    }

    private static LatentParametersGraph Refuse(string why) => new(null, false, null, why);

    private static bool IsRandom(NodeProto node) =>
        GraphIndex.IsDefaultDomain(node.Domain) && (node.OpType.StartsWith("Random", StringComparison.Ordinal) || node.OpType is "Multinomial" or "Bernoulli");

    private static LatentParametersGraph Expose(OnnxGraphFile model, Matcher matcher, Sampling sampling, string drawn)
    {
        int? channels = matcher.Channels(sampling.Parameters);
        var copy = model.Clone();
        var graph = copy.Graph;
        if (copy.AllNodes().Any(n => n.Output.Contains(OutputName) || n.Input.Contains(OutputName)) || graph.Initializer.Any(t => t.Name == OutputName))
            return Refuse($"the graph samples its latent inside ({drawn}) and already uses the name '{OutputName}' for another value, so its parameters cannot be exposed under that name.");

        // Batch as the input names it (free-dimension overrides go by name); latent sizes as the old output had them.
        var input = graph.Input.FirstOrDefault(i => graph.Initializer.All(t => t.Name != i.Name));
        var old = graph.Output.FirstOrDefault(o => o.Type?.TensorType?.Shape?.Dim.Count == 4) ?? graph.Output.FirstOrDefault();
        // The output keeps the element type of the output it replaces (a float16-IO export casts its float32 parameters).
        var inner = matcher.ElementType(sampling.Parameters);
        var type = old?.Type?.TensorType?.ElemType is int t and > 0 ? (TensorProto.Types.DataType)t : inner ?? TensorProto.Types.DataType.Float;
        object batch = DimOrName(input, 0) ?? "batch";
        object height = Dim(old, 2) is long h ? h : "height_latent";
        object width = Dim(old, 3) is long w ? w : "width_latent";
        object size = channels is int c ? 2L * c : "latent_parameters_channels";

        int before = graph.Node.Count;
        graph.Output.Clear();
        graph.Output.Add(OnnxNodes.TensorValue(OutputName, type, batch, size, height, width));
        graph.Node.Add(inner is { } known && known != type
            ? OnnxNodes.Node("Cast", [sampling.Parameters], [OutputName], $"{OutputName}/Cast", "", OnnxNodes.Int("to", (long)type))
            : OnnxNodes.Node("Identity", [sampling.Parameters], [OutputName], $"{OutputName}/Identity"));
        DeadNodes.Remove(graph);
        DeadNodes.RemoveStaleValueInfo(graph);
        DeadNodes.RemoveUnusedInitializers(graph);
        copy.InvalidateIndex();
        if (graph.Node.Where(IsRandom).ToList() is { Count: > 0 } upstream)
            return Refuse($"the graph samples its latent inside ({drawn}), and its distribution parameters themselves depend on " +
                $"{string.Join(", ", upstream.Select(r => $"{r.OpType} '{r.Name}'"))}, unseeded, so even they cannot reproduce seeded images.");
        return new(copy, true, channels,
            $"the graph drew its sample inside with {drawn}, unseeded; it now outputs the distribution parameters '{sampling.Parameters}' " +
            $"as '{OutputName}' [{string.Join(", ", new[] { batch, size, height, width })}] ({before + 1 - graph.Node.Count} sampling nodes removed)");
    }

    /// <summary>The fixed size of dimension <paramref name="axis"/>, or null.</summary>
    private static long? Dim(ValueInfoProto? value, int axis)
    {
        var dims = value?.Type?.TensorType?.Shape?.Dim;
        return dims is not null && axis < dims.Count && dims[axis].HasDimValue ? dims[axis].DimValue : null;
    }

    /// <summary>The fixed size or the symbolic name of a dimension, or null.</summary>
    private static object? DimOrName(ValueInfoProto? value, int axis)
    {
        var dims = value?.Type?.TensorType?.Shape?.Dim;
        if (dims is null || axis >= dims.Count) return null;
        return dims[axis].HasDimValue ? dims[axis].DimValue : dims[axis].DimParam.Length > 0 ? dims[axis].DimParam : null;
    }

    /// <summary>"'latent_sample' Float [batch, 4, h, w]".</summary>
    private static string Describe(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        if (tensor is null) return $"'{value.Name}'";
        var dims = tensor.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString(CultureInfo.InvariantCulture) : d.DimParam.Length > 0 ? d.DimParam : "?");
        return $"'{value.Name}' {(TensorProto.Types.DataType)tensor.ElemType}{(dims is null ? "" : $" [{string.Join(", ", dims)}]")}";
    }

    private sealed record Sampling(NodeProto Random, string Parameters);

    /// <summary>Structure queries on one graph (its index, constants and shape arithmetic).</summary>
    private sealed class Matcher
    {
        private readonly OnnxGraphFile _model;
        private readonly GraphIndex _index;
        private readonly ShapeEvaluator _shapes;

        public Matcher(OnnxGraphFile model)
        {
            _model = model;
            _index = model.Index;
            _shapes = new ShapeEvaluator(_index, model.BaseDirectory);
        }

        /// <summary>Every eps → Mul(std) → Add(mean) use of a normal draw whose std and mean come from one parameters tensor.</summary>
        public IEnumerable<Sampling> Samplings(NodeProto random)
        {
            if (random.OpType is not ("RandomNormal" or "RandomNormalLike")) yield break;
            string eps = random.Output[0];
            foreach (var mul in Downstream(eps))
            {
                if (!Is(mul, "Mul") || Other(mul, eps) is not { } std) continue;
                foreach (var add in Downstream(mul.Output[0]))
                {
                    if (!Is(add, "Add") || Other(add, mul.Output[0]) is not { } mean) continue;
                    if (LogVariance(std) is { } logvar && Halves(Source(mean), Source(logvar)) is { } parameters && Channels(parameters) is not 0)
                        yield return new(random, parameters);
                }
            }
        }

        /// <summary>C of a [B, 2C, h, w] parameters tensor, from its producing Conv's weight or its shape annotation; 0 when odd.</summary>
        public int? Channels(string parameters)
        {
            long? size = _index.Producer(parameters) is { } conv && Is(conv, "Conv") && _index.ConstantValue(conv.Input[1]) is { Dims.Count: > 0 } weight
                ? weight.Dims[0]
                : Dim(_model.Graph.ValueInfo.FirstOrDefault(v => v.Name == parameters), 1);
            return size is long s ? s % 2 == 0 ? (int)(s / 2) : 0 : null;
        }

        /// <summary>The parameters' element type, from a shape annotation or the producing node's weight.</summary>
        public TensorProto.Types.DataType? ElementType(string parameters)
        {
            if (_model.Graph.ValueInfo.FirstOrDefault(v => v.Name == parameters)?.Type?.TensorType is { ElemType: > 0 } annotated)
                return (TensorProto.Types.DataType)annotated.ElemType;
            return _index.Producer(parameters) is { Input.Count: > 1 } node && _index.ConstantValue(node.Input[1]) is { } weight
                ? (TensorProto.Types.DataType)weight.DataType
                : null;
        }

        /// <summary>logvar when <paramref name="std"/> is Exp(0.5 · Clip(logvar, -30, 20)) (or Exp(Clip(…) / 2)).</summary>
        private string? LogVariance(string std)
        {
            var exp = _index.Producer(Source(std));
            if (!Is(exp, "Exp")) return null;
            var half = _index.Producer(Source(exp!.Input[0]));
            string? clipped = half switch
            {
                { OpType: "Mul" } when IsScalar(half.Input[1], 0.5) => half.Input[0],
                { OpType: "Mul" } when IsScalar(half.Input[0], 0.5) => half.Input[1],
                { OpType: "Div" } when IsScalar(half.Input[1], 2) => half.Input[0],
                _ => null,
            };
            if (clipped is null || !GraphIndex.IsDefaultDomain(half!.Domain)) return null;
            var clip = _index.Producer(Source(clipped));
            if (!Is(clip, "Clip")) return null;
            // Opset 11+ takes the bounds as inputs, earlier opsets as attributes.
            bool min = clip!.Input.Count > 1 && clip.Input[1].Length > 0 ? IsScalar(clip.Input[1], -30) : OnnxNodes.Attribute(clip, "min") is { } a && Near(a.F, -30);
            bool max = clip.Input.Count > 2 && clip.Input[2].Length > 0 ? IsScalar(clip.Input[2], 20) : OnnxNodes.Attribute(clip, "max") is { } b && Near(b.F, 20);
            return min && max ? clip.Input[0] : null;
        }

        /// <summary>P when <paramref name="mean"/> and <paramref name="logvar"/> are its first and second halves on the channel axis.</summary>
        private string? Halves(string mean, string logvar)
        {
            var first = _index.Producer(mean);
            var second = _index.Producer(logvar);
            if (first is null || second is null) return null;
            if (ReferenceEquals(first, second) && Is(first, "Split"))
                return first.Output.Count == 2 && first.Output[0] == mean && first.Output[1] == logvar
                    && IsChannelAxis(OnnxNodes.IntAttribute(first, "axis", 0)) && EqualSplit(first) ? first.Input[0] : null;
            if (!Is(first, "Slice") || !Is(second, "Slice") || first.Input[0] != second.Input[0]) return null;
            var m = SliceArguments(first);
            var l = SliceArguments(second);
            bool channelAxis = m.Axes is [long ma] && IsChannelAxis(ma) && l.Axes is [long la] && IsChannelAxis(la);
            bool unitSteps = m.Steps is [1] && l.Steps is [1];
            bool meanFirst = m.Starts is [0];
            // The logvar half starts where the mean half ends: the same value (torch.chunk's shape arithmetic) or equal constants.
            bool adjacent = (m.EndsName is not null && m.EndsName == l.StartsName) || (m.Ends is [long end] && l.Starts is [long start] && end == start);
            return channelAxis && unitSteps && meanFirst && adjacent ? first.Input[0] : null;
        }

        private static bool IsChannelAxis(long axis) => axis is 1 or -3;

        private bool EqualSplit(NodeProto split)
        {
            long?[]? sizes = split.Input.Count > 1 && split.Input[1].Length > 0 ? _shapes.Evaluate(split.Input[1])
                : OnnxNodes.Attribute(split, "split") is { Ints.Count: > 0 } a ? a.Ints.Select(v => (long?)v).ToArray() : null;
            return sizes is null || (sizes.Length == 2 && sizes[0] is long x && sizes[1] is long y && x == y);
        }

        private (long?[]? Starts, long?[]? Ends, long?[]? Axes, long?[]? Steps, string? StartsName, string? EndsName) SliceArguments(NodeProto slice)
        {
            if (slice.Input.Count >= 3) // opset 10+: starts, ends, axes, steps as inputs
            {
                string? Optional(int i) => slice.Input.Count > i && slice.Input[i].Length > 0 ? slice.Input[i] : null;
                var starts = _shapes.Evaluate(slice.Input[1]);
                var axes = Optional(3) is { } ax ? _shapes.Evaluate(ax) : starts is null ? null : Enumerable.Range(0, starts.Length).Select(i => (long?)i).ToArray();
                var steps = Optional(4) is { } st ? _shapes.Evaluate(st) : starts is null ? null : starts.Select(_ => (long?)1).ToArray();
                return (starts, _shapes.Evaluate(slice.Input[2]), axes, steps, slice.Input[1], slice.Input[2]);
            }
            long?[]? Ints(string name) => OnnxNodes.Attribute(slice, name) is { } a ? a.Ints.Select(v => (long?)v).ToArray() : null;
            var s = Ints("starts");
            return (s, Ints("ends"), Ints("axes") ?? s?.Select((_, i) => (long?)i).ToArray(), s?.Select(_ => (long?)1).ToArray(), null, null);
        }

        /// <summary>The consumers of <paramref name="value"/>, looking through Identity and Cast.</summary>
        private IEnumerable<NodeProto> Downstream(string value)
        {
            foreach (var node in _index.Consumers(value))
            {
                if (IsPassThrough(node))
                {
                    foreach (var inner in Downstream(node.Output[0])) yield return inner;
                }
                else yield return node;
            }
        }

        /// <summary>The value behind Identity and Cast nodes.</summary>
        private string Source(string value)
        {
            while (_index.Producer(value) is { } node && IsPassThrough(node)) value = node.Input[0];
            return value;
        }

        /// <summary>The other operand of a binary node one of whose inputs comes from <paramref name="source"/>.</summary>
        private string? Other(NodeProto node, string source)
        {
            if (node.Input.Count != 2) return null;
            if (Source(node.Input[0]) == source) return node.Input[1];
            return Source(node.Input[1]) == source ? node.Input[0] : null;
        }

        private bool IsScalar(string name, double expected) =>
            _index.ConstantValue(Source(name)) is { } t && TensorData.ElementCount(t) == 1
            && TensorData.ToDoubles(t, _model.BaseDirectory) is [double v] && Near(v, expected);

        private static bool Near(double value, double expected) => Math.Abs(value - expected) <= 1e-3 * Math.Max(1, Math.Abs(expected));

        private static bool IsPassThrough(NodeProto node) => GraphIndex.IsDefaultDomain(node.Domain) && node.OpType is "Identity" or "Cast";

        private static bool Is(NodeProto? node, string opType) => node is not null && node.OpType == opType && GraphIndex.IsDefaultDomain(node.Domain);
    }
}
