using System.Text.RegularExpressions;

namespace StableDiffusion.Jobs;

/// <summary>Collects the problems of one job file, with the line of each location when the document knows it.</summary>
internal sealed partial class JobProblems(JobDocument document)
{
    private readonly List<JobProblem> _list = [];

    public IReadOnlyList<JobProblem> List => _list;
    public int Count => _list.Count;
    public JobDocument Document => document;

    /// <summary>A problem at a key path of the job file.</summary>
    public void Add(string location, string message) => _list.Add(new JobProblem(location, message, document.LineOf(location)));

    /// <summary>A problem in another file (a prompt file row): the location already says where.</summary>
    public void AddElsewhere(string location, string message) => _list.Add(new JobProblem(location, message));

    /// <summary>An exception message without .NET's " (Parameter 'x')" suffix.</summary>
    public static string Clean(Exception e) => ParameterSuffix().Replace(e.Message, "").Trim();

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)\s*$")]
    private static partial Regex ParameterSuffix();
}
