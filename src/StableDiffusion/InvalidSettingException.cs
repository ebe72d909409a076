namespace StableDiffusion;

/// <summary>
/// A generation or job setting that cannot be used, found before any model work: which setting, a stable error id (the
/// cmdlets' FullyQualifiedErrorId), the value at fault, and a message that says the accepted range or the fix.
/// </summary>
public sealed class InvalidSettingException : ArgumentException
{
    public InvalidSettingException(string setting, string errorId, object? value, string message)
        : base(message, setting)
    {
        ErrorId = errorId;
        Value = value;
        _message = message;
    }

    private readonly string _message;

    /// <summary>The message alone: it names the setting already, so .NET's " (Parameter '…')" suffix is left off.</summary>
    public override string Message => _message;

    /// <summary>A stable identifier of the problem, e.g. <c>SeedOutOfRange</c>.</summary>
    public string ErrorId { get; }

    /// <summary>The value at fault (the cmdlets' target object).</summary>
    public object? Value { get; }
}
