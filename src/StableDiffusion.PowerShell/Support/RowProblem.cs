using System.Management.Automation;

namespace StableDiffusion.PowerShell.Support;

/// <summary>Why a piped row cannot be bound: the message (naming row, column and value), the error id and category.</summary>
internal sealed record RowProblem(string Message, string ErrorId, ErrorCategory Category);
