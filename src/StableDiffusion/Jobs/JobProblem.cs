namespace StableDiffusion.Jobs;

/// <summary>
/// One thing wrong with a job file: where (a key path such as <c>Prompts[3].Seeds</c>, or a prompt file and line) and what.
/// </summary>
/// <param name="Location">Key path in the job file, or "file line N, column C" for a prompt file row.</param>
/// <param name="Message">What is wrong and how to fix it.</param>
/// <param name="Line">1-based line in the job file where the key is written, when known.</param>
public sealed record JobProblem(string Location, string Message, int? Line = null)
{
    public override string ToString() => Line is { } line ? $"{Location} (line {line}): {Message}" : $"{Location}: {Message}";
}
