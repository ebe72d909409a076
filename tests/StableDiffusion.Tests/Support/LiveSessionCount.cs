namespace StableDiffusion.Tests.Support;

/// <summary>
/// Tests that count <see cref="StableDiffusion.Models.OnnxComponent.LiveSessions"/> (process-wide) run alone, after the
/// parallel ones: another class creating sessions meanwhile would change the count under them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveSessionCount
{
    public const string Name = "Live session count";
}
