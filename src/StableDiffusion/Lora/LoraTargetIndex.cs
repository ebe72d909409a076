using StableDiffusion.Graph;
using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Lora;

/// <summary>
/// Which initializer holds each module's weight in one exported graph, read from the graph itself: every MatMul,
/// Gemm and Conv whose weight operand (input 1) is an initializer names its module — the torch exporter names nodes
/// <c>/down_blocks.0/attentions.0/transformer_blocks.0/attn1/to_q/MatMul</c> after the module path, while it renames
/// Linear weights <c>onnx::MatMul_N</c> (stored transposed) and keeps conv weights' torch names.
/// </summary>
public sealed class LoraTargetIndex
{
    private static readonly HashSet<string> WeightOps = new(StringComparer.Ordinal) { "MatMul", "Gemm", "Conv" };
    private readonly Dictionary<string, List<LoraTarget>> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<LoraTarget>> _byFlat = new(StringComparer.Ordinal);

    public LoraTargetIndex(OnnxGraphFile graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        var consumers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var found = new Dictionary<string, (string Path, WeightLayout Layout)>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (!WeightOps.Contains(node.OpType) || !GraphIndex.IsDefaultDomain(node.Domain) || node.Input.Count < 2) continue;
            var weight = node.Input[1];
            var initializer = graph.Initializer(weight);
            if (initializer is null) continue;
            var path = ModulePathOf(node, weight);
            if (path is null) continue;
            var layout = node.OpType switch
            {
                "MatMul" => WeightLayout.TransposedLinear,
                "Gemm" => node.Attribute.Any(a => a.Name == "transB" && a.I == 1) ? WeightLayout.Torch : WeightLayout.TransposedLinear,
                _ => WeightLayout.Torch,
            };
            if (!consumers.TryGetValue(weight, out var list)) consumers[weight] = list = [];
            list.Add(node.Name);
            found.TryAdd(weight, (path, layout));
        }
        foreach (var (name, (path, layout)) in found)
        {
            var init = graph.Initializer(name)!;
            var target = new LoraTarget(path, name, layout, init.Dims.ToArray(), (TensorProto.Types.DataType)init.DataType, consumers[name]);
            Add(_byPath, path, target);
            Add(_byFlat, LoraKeyNames.Flatten(path), target);
        }
    }

    public OnnxGraphFile Graph { get; }

    /// <summary>Every module path found.</summary>
    public IEnumerable<string> ModulePaths => _byPath.Keys;

    /// <summary>
    /// The target of a module: by its dotted path, else by its flat (kohya) name against the graph's paths with
    /// '.' → '_' (what sd-scripts and A1111 do); null when nothing matches.
    /// </summary>
    public LoraTarget? Resolve(LoraModule module) => Resolve(module.ModulePath, module.FlatName);

    public LoraTarget? Resolve(string modulePath, string? flatName = null)
    {
        if (_byPath.TryGetValue(modulePath, out var list) || _byFlat.TryGetValue(flatName ?? LoraKeyNames.Flatten(modulePath), out list))
        {
            if (list.Count > 1)
                throw new LoraMappingException(
                    $"Module '{modulePath}' matches several weights in the graph ({string.Join(", ", list.Select(t => t.InitializerName))}); the graph's names are ambiguous.",
                    [modulePath]);
            return list[0];
        }
        return null;
    }

    private static void Add(Dictionary<string, List<LoraTarget>> map, string key, LoraTarget target)
    {
        if (!map.TryGetValue(key, out var list)) map[key] = list = [];
        if (!list.Any(t => t.InitializerName == target.InitializerName)) list.Add(target);
    }

    // "/a.0/b/c/MatMul" → "a.0.b.c"; without a scoped node name, an initializer that kept its torch name "<module>.weight".
    private static string? ModulePathOf(NodeProto node, string weight)
    {
        var name = node.Name;
        if (name.StartsWith('/'))
        {
            int last = name.LastIndexOf('/');
            if (last > 0) return name[1..last].Replace('/', '.');
        }
        return weight.EndsWith(".weight", StringComparison.Ordinal) ? weight[..^".weight".Length] : null;
    }
}
