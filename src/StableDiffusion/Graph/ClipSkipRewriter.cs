using System.Globalization;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Makes a CLIP text encoder that outputs only <c>last_hidden_state</c> (the SD 1.x/2.x exports) also output diffusers'
/// clip_skip embeddings: <c>final_layer_norm(hidden_states[-(k + 1)])</c>, the output of encoder layer N − k through
/// the final layer norm.
/// </summary>
/// <remarks>
/// Found by structure, not by value names (exporters generate those). The encoder is a residual stream: every layer adds
/// its attention branch and then its MLP branch to the stream (x + f(x): an Add one of whose inputs feeds the other),
/// so the stream is a chain of 2N such Adds after the embeddings, and a layer's output is every second one. The final
/// layer norm is everything between the last Add and last_hidden_state (LayerNormalization, or the ReduceMean/Sub/Pow/…
/// decomposition of opset-14 exports, with the float16 exports' Casts). That subgraph is copied onto the chosen layer's
/// output rather than recomputed on the host, so ONNX Runtime normalizes it exactly as it does last_hidden_state: the
/// same weights (whatever feeds them: Identity copies of shared initializers, Casts), the same eps, the same fusion.
/// </remarks>
public static class ClipSkipRewriter
{
    /// <summary>The output the final layer norm produces in the SD exports.</summary>
    public const string LastHiddenState = "last_hidden_state";

    /// <summary>What a final layer norm is made of; anything else between the last layer and last_hidden_state is refused.</summary>
    private static readonly HashSet<string> NormOps =
        new(["LayerNormalization", "ReduceMean", "Sub", "Pow", "Add", "Sqrt", "Div", "Mul", "Reciprocal", "Cast", "Identity"], StringComparer.Ordinal);

    /// <summary>The name of the output added for clip skip <paramref name="clipSkip"/>.</summary>
    public static string OutputName(int clipSkip) => $"clip_skip_{clipSkip.ToString(CultureInfo.InvariantCulture)}_hidden_state";

    /// <summary>
    /// Returns a rewritten copy of <paramref name="model"/> that also outputs <see cref="OutputName"/>, or no model (with
    /// the reason in <see cref="ClipSkipGraph.Description"/>) when the encoder's structure is not recognized.
    /// <paramref name="model"/> is not modified.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipSkip"/> is below 1 or above the encoder's layer count.</exception>
    public static ClipSkipGraph Rewrite(OnnxGraphFile model, int clipSkip)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(clipSkip, 1);
        var index = model.Index;
        var graph = model.Graph;
        var output = graph.Output.FirstOrDefault(o => o.Name == LastHiddenState);
        if (output is null || index.Producer(LastHiddenState) is not { } last)
            return Refuse($"the graph has no '{LastHiddenState}' output computed by a node (its outputs: {string.Join(", ", graph.Output.Select(o => $"'{o.Name}'"))}).");

        var finder = new Structure(index);
        string? lastLayer = finder.NearestResidual(last);
        if (lastLayer is null)
            return Refuse($"no residual Add (x + f(x)) of an encoder layer was found before '{LastHiddenState}'.");
        var stream = finder.Stream(lastLayer);
        int adds = stream.Count - 1;
        if (adds < 2 || adds % 2 != 0)
            return Refuse($"the residual stream ending at '{lastLayer}' has {adds} residual Adds; a CLIP encoder has two per layer (attention, MLP).");
        int layers = adds / 2;
        if (clipSkip > layers)
            throw new ArgumentOutOfRangeException(nameof(clipSkip), clipSkip,
                $"ClipSkip {clipSkip} skips more layers than the text encoder has ({layers}); diffusers' clip_skip k reads hidden_states[-(k + 1)], " +
                $"so k can be 1 … {layers}.");

        var norm = finder.Between(lastLayer, last);
        if (norm.FirstOrDefault(n => !GraphIndex.IsDefaultDomain(n.Domain) || !NormOps.Contains(n.OpType)) is { } odd)
            return Refuse($"between the last encoder layer '{lastLayer}' and '{LastHiddenState}' there is a {odd.OpType} node ('{odd.Name}'), " +
                "which a final layer norm does not have.");

        string name = OutputName(clipSkip);
        string suffix = "/clip_skip_" + clipSkip.ToString(CultureInfo.InvariantCulture);
        if (index.Producer(name) is not null || index.Initializer(name) is not null || index.IsGraphInput(name) || index.IsGraphOutput(name)
            || norm.SelectMany(n => n.Output).Any(o => index.Producer(o + suffix) is not null))
            return Refuse($"the graph already uses the names this rewrite gives ('{name}', '…{suffix}').");

        // hidden_states[-(k + 1)] is layer N − k's output: the stream runs from the last layer's output backwards,
        // two Adds a layer, so it is the stream's value 2k (2N: the embeddings, hidden_states[0]).
        string hidden = stream[2 * clipSkip];
        var copy = model.Clone();
        var renamed = new Dictionary<string, string>(StringComparer.Ordinal) { [lastLayer] = hidden };
        foreach (var node in norm)
            foreach (var o in node.Output)
                if (o.Length > 0) renamed[o] = o == LastHiddenState ? name : o + suffix;
        // Appended in graph order: every input is produced by an earlier node, a copied one, or the chosen layer.
        foreach (var node in norm)
        {
            var twin = node.Clone();
            twin.Name = node.Name.Length > 0 ? node.Name + suffix : "";
            for (int i = 0; i < twin.Input.Count; i++)
                if (renamed.TryGetValue(twin.Input[i], out var to)) twin.Input[i] = to;
            for (int i = 0; i < twin.Output.Count; i++)
                if (renamed.TryGetValue(twin.Output[i], out var to)) twin.Output[i] = to;
            copy.Graph.Node.Add(twin);
        }
        var added = output.Clone();
        added.Name = name;
        added.DocString = $"final_layer_norm(hidden_states[-{clipSkip + 1}]): diffusers' clip_skip {clipSkip}";
        copy.Graph.Output.Add(added);
        copy.InvalidateIndex();
        return new(copy, name, hidden, layers,
            $"the final layer norm ({norm.Count} nodes from '{lastLayer}' to '{LastHiddenState}') was copied onto '{hidden}', the output of layer " +
            $"{layers - clipSkip} of {layers}, as '{name}'");
    }

    private static ClipSkipGraph Refuse(string why) => new(null, null, null, 0, why);

    /// <summary>Dependency queries over one graph's index.</summary>
    private sealed class Structure(GraphIndex index)
    {
        /// <summary>The output of the residual Add nearest before <paramref name="end"/> (breadth first), or null.</summary>
        public string? NearestResidual(NodeProto end)
        {
            var seen = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance) { end };
            var queue = new Queue<NodeProto>([end]);
            while (queue.TryDequeue(out var node))
            {
                if (node != end && SkipInput(node) is not null) return node.Output[0];
                foreach (var input in node.Input)
                    if (index.Producer(input) is { } p && seen.Add(p)) queue.Enqueue(p);
            }
            return null;
        }

        /// <summary>The residual stream from <paramref name="value"/> back: each value, then the skip input of its Add, down to the first that no residual Add produces.</summary>
        public List<string> Stream(string value)
        {
            var stream = new List<string> { value };
            while (index.Producer(value) is { } node && SkipInput(node) is { } skip)
                stream.Add(value = skip);
            return stream;
        }

        /// <summary>The nodes on a path from value <paramref name="from"/> to node <paramref name="to"/> (inclusive), in graph order.</summary>
        public List<NodeProto> Between(string from, NodeProto to)
        {
            var downstream = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
            var values = new Queue<string>([from]);
            while (values.TryDequeue(out var v))
                foreach (var consumer in index.Consumers(v))
                    if (downstream.Add(consumer))
                        foreach (var o in consumer.Output) values.Enqueue(o);
            // Every node on such a path is downstream of 'from', so walking back from 'to' inside that set finds exactly them.
            var between = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
            var nodes = new Queue<NodeProto>();
            if (downstream.Contains(to) && between.Add(to)) nodes.Enqueue(to);
            while (nodes.TryDequeue(out var node))
                foreach (var input in node.Input)
                    if (index.Producer(input) is { } p && downstream.Contains(p) && between.Add(p)) nodes.Enqueue(p);
            return between.OrderBy(index.PositionOf).ToList();
        }

        /// <summary>For x + f(x) (an Add one of whose inputs feeds the other): x; else null.</summary>
        private string? SkipInput(NodeProto node)
        {
            if (node.OpType != "Add" || !GraphIndex.IsDefaultDomain(node.Domain) || node.Input.Count != 2) return null;
            string a = node.Input[0], b = node.Input[1];
            if (index.Producer(a) is null || index.Producer(b) is null) return null; // a bias or a constant, not a stream
            if (Feeds(a, b)) return a;
            return Feeds(b, a) ? b : null;
        }

        /// <summary>Whether <paramref name="value"/> is an ancestor of <paramref name="target"/>.</summary>
        private bool Feeds(string value, string target)
        {
            if (index.Producer(target) is not { } start) return false;
            var seen = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance) { start };
            var queue = new Queue<NodeProto>([start]);
            while (queue.TryDequeue(out var node))
                foreach (var input in node.Input)
                {
                    if (input == value) return true;
                    if (index.Producer(input) is { } p && seen.Add(p)) queue.Enqueue(p);
                }
            return false;
        }
    }
}
