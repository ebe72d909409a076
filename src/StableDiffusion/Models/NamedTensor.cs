namespace StableDiffusion.Models;

/// <summary>
/// A float32 tensor for a graph input named <see cref="Name"/>, batch first: the UNet's inputs beyond sample, timestep and
/// text embeddings (SDXL's <c>text_embeds</c>/<c>time_ids</c>, <c>timestep_cond</c>, ControlNet residuals) travel as these.
/// </summary>
public sealed record NamedTensor(string Name, float[] Data, long[] Shape)
{
    /// <summary>Rows <paramref name="start"/> … start + count − 1 of the batch axis (a copy), for UNet sub-batches.</summary>
    public NamedTensor Rows(int start, int count)
    {
        int perRow = Data.Length / (int)Shape[0];
        return this with { Data = Data.AsSpan(start * perRow, count * perRow).ToArray(), Shape = [count, .. Shape[1..]] };
    }

    public override string ToString() => $"{Name} [{string.Join(", ", Shape)}]";
}
