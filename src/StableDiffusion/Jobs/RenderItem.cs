using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>
/// One image of a job: what to render, the parameters its PNG must record, its identity and its file.
/// </summary>
public sealed class RenderItem
{
    /// <summary>Position in the job (0-based): the {index} of the name template.</summary>
    public required int Index { get; init; }

    /// <summary>Where the prompt was written: "Prompts[2]" or "prompts.csv line 5".</summary>
    public required string Source { get; init; }

    public required ImageRequest Request { get; init; }

    /// <summary>Settings for the pipeline (sizes resolved; Scheduler null when the job's own applies).</summary>
    public required GenerationSettings Settings { get; init; }

    /// <summary>The parameters the image's PNG records once rendered (Precision only when the job pins it).</summary>
    public required GenerationParameters Expected { get; init; }

    /// <summary>Hash of everything that decides the pixels (see <see cref="RenderIdentity"/>).</summary>
    public required string Identity { get; init; }

    /// <summary>Full path of the output PNG.</summary>
    public required string Path { get; init; }

    public string FileName => System.IO.Path.GetFileName(Path);
    public string Prompt => Request.Prompt;
    public long Seed => Request.Seed;

    public override string ToString() => $"#{Index} {FileName} (seed {Seed}, {Source})";
}
