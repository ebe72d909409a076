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
            var used = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
            foreach (var node in graph.Node)
            {
                foreach (var input in node.Input)
                    if (input.Length > 0) used.Add(input);
                foreach (var sub in GraphIndex.Subgraphs(node))
                    used.UnionWith(GraphIndex.OuterReferences(sub));
            }
            var live = graph.Node.Where(n => n.Output.Any(used.Contains)).ToList();
            if (live.Count == graph.Node.Count) return removed;
            removed += graph.Node.Count - live.Count;
            graph.Node.Clear();
            graph.Node.AddRange(live);
        }
    }
}
