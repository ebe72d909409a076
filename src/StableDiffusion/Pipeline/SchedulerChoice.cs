namespace StableDiffusion.Pipeline;

/// <summary>A scheduler by name (diffusers class name, short form or UI alias) with option overrides.</summary>
public sealed record SchedulerChoice(string Name, IReadOnlyDictionary<string, object?>? Options = null)
{
    public override string ToString() =>
        Options is null || Options.Count == 0 ? Name : $"{Name} ({string.Join(", ", Options.Select(kv => $"{kv.Key}={kv.Value}"))})";
}
