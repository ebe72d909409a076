namespace StableDiffusion.TextualInversion;

/// <summary>
/// A textual-inversion embedding that cannot be loaded, found before any session is rebuilt: a stable error id (the
/// cmdlets' FullyQualifiedErrorId), the kind of problem, the file or token at fault, and a message that says the fix.
/// </summary>
public sealed class TextualInversionException : Exception
{
    public TextualInversionException(string errorId, TextualInversionProblem problem, object? target, string message)
        : base(message)
    {
        ErrorId = errorId;
        Problem = problem;
        Target = target;
    }

    /// <summary>A stable identifier of the problem, e.g. <c>EmbeddingNotFinite</c>.</summary>
    public string ErrorId { get; }

    public TextualInversionProblem Problem { get; }

    /// <summary>The file path or token at fault.</summary>
    public object? Target { get; }
}
