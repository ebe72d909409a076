namespace StableDiffusion.Jobs;

/// <summary>What a job run did.</summary>
public sealed class RenderJobSummary
{
    /// <summary>The job file.</summary>
    public required string Job { get; init; }

    public required string OutputDirectory { get; init; }
    public required string LogPath { get; init; }

    /// <summary>Images the job holds.</summary>
    public required int Total { get; init; }

    /// <summary>Images rendered and saved by this run.</summary>
    public required int Rendered { get; init; }

    /// <summary>Images already there and verified (not rendered again).</summary>
    public required int Skipped { get; init; }

    /// <summary>Images that failed twice (or whose name is taken by a file no job wrote); see <see cref="Failures"/>.</summary>
    public int Failed => Failures.Count;

    /// <summary>Of <see cref="Rendered"/>, images that replaced an outdated or damaged file.</summary>
    public required int Replaced { get; init; }

    /// <summary>Images left out on request (declined at a -Confirm prompt).</summary>
    public int NotSelected { get; init; }

    public required IReadOnlyList<RenderFailure> Failures { get; init; }

    /// <summary>Wall time of the whole run, model loading included.</summary>
    public required TimeSpan Elapsed { get; init; }

    /// <summary>Images rendered per minute of rendering (model loading excluded); 0 when none were rendered.</summary>
    public required double ImagesPerMinute { get; init; }

    /// <summary>True when nothing failed.</summary>
    public bool Succeeded => Failed == 0;

    public override string ToString() =>
        $"{Rendered} rendered, {Skipped} skipped, {Failed} failed of {Total} in {Elapsed.TotalSeconds:0.0} s ({ImagesPerMinute:0.#} images/min)";
}

/// <summary>An image that could not be rendered.</summary>
public sealed record RenderFailure(RenderItem Item, string Error, int Attempts, Exception? Exception)
{
    public int Index => Item.Index;
    public string File => Item.FileName;
    public long Seed => Item.Seed;
    public string Prompt => Item.Prompt;
    public string Source => Item.Source;

    public override string ToString() => $"#{Index} {File} (seed {Seed}, {Source}): {Error}";
}
