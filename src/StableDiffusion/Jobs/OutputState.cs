namespace StableDiffusion.Jobs;

/// <summary>What a render item finds at its output path.</summary>
public enum OutputState
{
    /// <summary>No file: render it.</summary>
    Missing,

    /// <summary>A readable PNG written by a job for exactly this item's parameters: skip it.</summary>
    Verified,

    /// <summary>A job's PNG for other parameters (the job changed since): render and replace it.</summary>
    Outdated,

    /// <summary>A file that is not a readable PNG (damaged on disk): render and replace it.</summary>
    Damaged,

    /// <summary>A readable PNG that no job wrote (it has no job record): left alone; the item fails with a message.</summary>
    Foreign,
}

/// <summary>The state of one item's output, with the reason for anything but Missing and Verified.</summary>
public sealed record OutputCheck(OutputState State, string? Reason = null);
