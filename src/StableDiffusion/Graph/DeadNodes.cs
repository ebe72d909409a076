using StableDiffusion.Graph.Onnx;

namespace StableDiffusion.Graph;

/// <summary>
/// Removes nodes whose outputs nobody reads. After a rewrite, the shape arithmetic that fed removed nodes (e.g. the
/// ConstantOfShape of a baddbmm zero term, as large as the scores) must not stay in the graph and run for nothing.
/// </summary>
public static class DeadNodes
{
    /// <summary>Removes dead nodes from <paramref name="graph"/> (not from its subgraphs); returns how many.</summary>
    public static int Remove(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        int removed = 0;
        while (true)
        {
            var used = Read(graph);
            var live = graph.Node.Where(n => n.Output.Any(used.Contains)).ToList();
            if (live.Count == graph.Node.Count) return removed;
            removed += graph.Node.Count - live.Count;
            graph.Node.Clear();
            graph.Node.AddRange(live);
        }
    }

    /// <summary>Drops the shape annotations (value_info) of values that no node produces any more.</summary>
    public static void RemoveStaleValueInfo(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        var keep = graph.ValueInfo.Where(v => produced.Contains(v.Name)).ToList();
        graph.ValueInfo.Clear();
        graph.ValueInfo.AddRange(keep);
    }

    /// <summary>
    /// Removes initializers no node reads (ONNX Runtime would drop them with a warning at every load); initializers
    /// that are also graph inputs (IR version &lt; 4) stay. Returns how many were removed.
    /// </summary>
    public static int RemoveUnusedInitializers(GraphProto graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var used = Read(graph);
        used.UnionWith(graph.Input.Select(i => i.Name));
        var keep = graph.Initializer.Where(t => used.Contains(t.Name)).ToList();
        int removed = graph.Initializer.Count - keep.Count;
        graph.Initializer.Clear();
        graph.Initializer.AddRange(keep);
        return removed;
    }

    /// <summary>The values read by the graph's outputs, its nodes and their subgraphs.</summary>
    private static HashSet<string> Read(GraphProto graph)
    {
        var used = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var input in node.Input)
                if (input.Length > 0) used.Add(input);
            foreach (var sub in GraphIndex.Subgraphs(node))
                used.UnionWith(GraphIndex.OuterReferences(sub));
        }
        return used;
    }
}
