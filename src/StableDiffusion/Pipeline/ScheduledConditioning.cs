using StableDiffusion.Prompts;

namespace StableDiffusion.Pipeline;

/// <summary>
/// One A1111 prompt's conditioning over the steps: its schedule entries and each entry's encoding [77·chunks, hidden]
/// (all entries were encoded in one batch, so they have the same length).
/// </summary>
public sealed record ScheduledConditioning(IReadOnlyList<PromptScheduleEntry> Entries, IReadOnlyList<float[]> Encodings)
{
    /// <summary>The entry in effect at A1111 sampler step <paramref name="step"/>.</summary>
    public int EntryAt(int step) => A1111PromptSchedules.ActiveIndex(Entries, step);
}
