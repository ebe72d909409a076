namespace StableDiffusion.Jobs;

/// <summary>A job file with problems: every problem found, each with its location, in one exception.</summary>
public sealed class JobValidationException : FormatException
{
    public JobValidationException(string source, IReadOnlyList<JobProblem> problems)
        : base(Describe(source, problems))
    {
        JobSource = source;
        Problems = problems;
    }

    /// <summary>The job file (or a description of where the job came from).</summary>
    public string JobSource { get; }

    public IReadOnlyList<JobProblem> Problems { get; }

    private static string Describe(string source, IReadOnlyList<JobProblem> problems) =>
        $"The job file '{source}' has {problems.Count} problem{(problems.Count == 1 ? "" : "s")}; nothing was rendered:" +
        string.Concat(problems.Select(p => $"{Environment.NewLine}  - {p}"));
}
