using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace StableDiffusion.Models;

/// <summary>
/// The UNet graph's inputs and output, read once at load from the session's metadata: the three every UNet has, and
/// <see cref="Extras"/>, every further input (by name), which each generation supplies as <see cref="NamedTensor"/>s.
/// </summary>
internal sealed record UNetIo((string Name, TensorElementType Type, NodeMetadata Meta) Sample,
    (string Name, TensorElementType Type, NodeMetadata Meta) Timestep,
    (string Name, TensorElementType Type, NodeMetadata Meta) Hidden,
    (string Name, TensorElementType Type, NodeMetadata Meta) Output,
    IReadOnlyList<(string Name, TensorElementType Type, NodeMetadata Meta)> Extras)
{
    /// <summary>One timestep per batch row unless the graph fixes the shape ([1], or a scalar in some exports).</summary>
    public long[] TimestepShape(int batch)
    {
        var dims = Timestep.Meta.Dimensions;
        return dims.Length == 0 ? [] : dims[0] == 1 ? [1] : [batch];
    }

    /// <summary>Channels of the prediction: the graph's fixed dimension, else the UNet config's, else 4 (never the sample's: 9 for inpainting).</summary>
    public int OutChannels { get; init; } = 4;

    /// <summary>
    /// Free-dimension values for <paramref name="shape"/>: each named free dimension of the inputs gets the size it
    /// has in this call; a name that would need two different sizes stays free.
    /// </summary>
    public IReadOnlyDictionary<string, long> FreeDimensions(UNetShape shape, IReadOnlyList<NamedTensor>? extras = null)
    {
        var values = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var conflicts = new HashSet<string>(StringComparer.Ordinal);
        void Add(NodeMetadata meta, long[] actual)
        {
            var dims = meta.Dimensions;
            var names = meta.SymbolicDimensions;
            for (int i = 0; i < dims.Length && i < actual.Length; i++)
            {
                if (dims[i] >= 0 || i >= names.Length || string.IsNullOrEmpty(names[i])) continue;
                if (values.TryGetValue(names[i], out long existing) && existing != actual[i]) conflicts.Add(names[i]);
                else values[names[i]] = actual[i];
            }
        }
        Add(Sample.Meta, shape.Sample);
        Add(Timestep.Meta, TimestepShape(shape.Batch));
        Add(Hidden.Meta, shape.Hidden);
        foreach (var extra in Extras)
            if (extras?.FirstOrDefault(e => e.Name == extra.Name) is { } given) Add(extra.Meta, given.Shape);
        foreach (var name in conflicts) values.Remove(name);
        return values;
    }
}
