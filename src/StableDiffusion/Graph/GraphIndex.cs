using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// A snapshot index of one graph: which node produces each value, which nodes consume it (a node whose subgraph
/// — If/Loop/Scan body — reads an outer value counts as its consumer), initializers, graph inputs and outputs.
/// Build a new one after editing the graph.
/// </summary>
public sealed class GraphIndex
{
    private static readonly IReadOnlyList<NodeProto> None = [];
    private readonly Dictionary<string, NodeProto> _producers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeProto>> _consumers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorProto> _initializers = new(StringComparer.Ordinal);
    private readonly Dictionary<NodeProto, int> _positions = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _inputs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _outputs = new(StringComparer.Ordinal);

    public GraphIndex(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        foreach (var t in graph.Initializer) _initializers[t.Name] = t;
        foreach (var v in graph.Input) _inputs.Add(v.Name);
        foreach (var v in graph.Output) _outputs.Add(v.Name);
        for (int i = 0; i < graph.Node.Count; i++)
        {
            var node = graph.Node[i];
            _positions[node] = i;
            foreach (var output in node.Output)
                if (output.Length > 0) _producers[output] = node;
            var read = new HashSet<string>(StringComparer.Ordinal);
            foreach (var input in node.Input)
                if (input.Length > 0) read.Add(input);
            foreach (var sub in Subgraphs(node))
                read.UnionWith(OuterReferences(sub));
            foreach (var name in read)
            {
                if (!_consumers.TryGetValue(name, out var list)) _consumers[name] = list = [];
                list.Add(node);
            }
        }
    }

    public GraphProto Graph { get; }

    /// <summary>The node that outputs <paramref name="value"/>, or null for graph inputs, initializers and unknown names.</summary>
    public NodeProto? Producer(string value) => _producers.GetValueOrDefault(value);

    /// <summary>The nodes that read <paramref name="value"/>, in graph order, each once.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var list) ? list : None;

    public TensorProto? Initializer(string name) => _initializers.GetValueOrDefault(name);

    public bool IsGraphInput(string name) => _inputs.Contains(name);

    public bool IsGraphOutput(string name) => _outputs.Contains(name);

    /// <summary>The node's position in <see cref="GraphProto.Node"/>, or -1 when it is not in this graph.</summary>
    public int PositionOf(NodeProto node) => _positions.TryGetValue(node, out var i) ? i : -1;

    /// <summary>
    /// The constant value of <paramref name="name"/>: an initializer, or the 'value' tensor of the Constant node
    /// that produces it; null when the value is computed.
    /// </summary>
    public TensorProto? ConstantValue(string name)
    {
        if (_initializers.TryGetValue(name, out var init)) return init;
        var producer = Producer(name);
        if (producer is { OpType: "Constant" } && IsDefaultDomain(producer.Domain))
            foreach (var attribute in producer.Attribute)
                if (attribute.Name == "value" && attribute.T is not null) return attribute.T;
        return null;
    }

    /// <summary>The ONNX default domain ("" or "ai.onnx").</summary>
    public static bool IsDefaultDomain(string domain) => domain.Length == 0 || domain == "ai.onnx";

    /// <summary>The subgraphs held in a node's attributes (If branches, Loop/Scan bodies).</summary>
    public static IEnumerable<GraphProto> Subgraphs(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null) yield return attribute.G;
            foreach (var g in attribute.Graphs) yield return g;
        }
    }

    /// <summary>Names a subgraph reads from enclosing scopes (used but not defined inside it).</summary>
    public static HashSet<string> OuterReferences(GraphProto graph)
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in graph.Input) defined.Add(v.Name);
        foreach (var t in graph.Initializer) defined.Add(t.Name);
        foreach (var n in graph.Node)
            foreach (var o in n.Output) defined.Add(o);
        var outer = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            foreach (var i in n.Input)
                if (i.Length > 0 && !defined.Contains(i)) outer.Add(i);
            foreach (var sub in Subgraphs(n))
                foreach (var name in OuterReferences(sub))
                    if (!defined.Contains(name)) outer.Add(name);
        }
        foreach (var v in graph.Output)
            if (!defined.Contains(v.Name)) outer.Add(v.Name);
        return outer;
    }
}
