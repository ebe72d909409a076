namespace StableDiffusion.Jobs;

/// <summary>Each item of a job with what its output path holds now: what a run would skip and what it would render.</summary>
public sealed class RenderPlan
{
    internal RenderPlan(IReadOnlyList<(RenderItem Item, OutputCheck Check)> entries) => Entries = entries;

    public IReadOnlyList<(RenderItem Item, OutputCheck Check)> Entries { get; }

    /// <summary>Items whose image exists and verifies.</summary>
    public IEnumerable<RenderItem> Done => Entries.Where(e => e.Check.State == OutputState.Verified).Select(e => e.Item);

    /// <summary>Items a run would render (missing, outdated or damaged outputs).</summary>
    public IEnumerable<RenderItem> ToRender => Entries.Where(e => e.Check.State is OutputState.Missing or OutputState.Outdated or OutputState.Damaged).Select(e => e.Item);

    /// <summary>Items whose file name is taken by a file no job wrote.</summary>
    public IEnumerable<(RenderItem Item, OutputCheck Check)> Blocked => Entries.Where(e => e.Check.State == OutputState.Foreign);
}
