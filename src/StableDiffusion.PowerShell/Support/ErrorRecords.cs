using System.Management.Automation;
using StableDiffusion.Models;

namespace StableDiffusion.PowerShell.Support;

/// <summary>Maps library exceptions to ErrorRecords with a sensible category, error id and target.</summary>
internal static class ErrorRecords
{
    public static ErrorRecord From(Exception e, object? target, string? errorId = null)
    {
        // A setting the library refused names its own error id and the value at fault.
        if (e is InvalidSettingException setting)
            return new ErrorRecord(e, setting.ErrorId, ErrorCategory.InvalidArgument, setting.Value ?? target);
        // Textual inversion names its own error id; the category follows the kind of problem.
        if (e is TextualInversion.TextualInversionException embedding)
            return new ErrorRecord(e, embedding.ErrorId, embedding.Problem switch
            {
                TextualInversion.TextualInversionProblem.FileNotFound => ErrorCategory.ObjectNotFound,
                TextualInversion.TextualInversionProblem.InvalidFile => ErrorCategory.InvalidData,
                TextualInversion.TextualInversionProblem.TokenConflict => ErrorCategory.InvalidArgument,
                _ => ErrorCategory.InvalidOperation,
            }, embedding.Target ?? target);
        if (e is ModelLoadException load)
        {
            var category = load.Error switch
            {
                ModelLoadError.FolderNotFound => ErrorCategory.ObjectNotFound,
                ModelLoadError.MissingComponent => ErrorCategory.ObjectNotFound,
                ModelLoadError.NotAModelFolder => ErrorCategory.InvalidArgument,
                ModelLoadError.InvalidFile => ErrorCategory.InvalidData,
                ModelLoadError.UnsupportedGraph => ErrorCategory.InvalidData,
                ModelLoadError.ProviderUnavailable => ErrorCategory.ResourceUnavailable,
                ModelLoadError.PrecisionMismatch => ErrorCategory.InvalidArgument,
                ModelLoadError.NoFloat16Kernels => ErrorCategory.NotImplemented,
                _ => ErrorCategory.NotSpecified,
            };
            return new ErrorRecord(e, errorId ?? $"Model{load.Error}", category, target ?? load.Target);
        }
        // The float16 VAE overflowed (NaN/Inf): a result the fix names (Set-SdVae), not a failure of this one image.
        if (e is Pipeline.VaeOverflowException)
            return new ErrorRecord(e, "VaeOverflow", ErrorCategory.InvalidResult, target);
        // Refused by the memory pre-flight before anything ran: the message gives the estimate and the remedies.
        if (e is Pipeline.InsufficientMemoryForBatchException)
            return new ErrorRecord(e, "InsufficientMemory", ErrorCategory.ResourceUnavailable, target);
        var cat = e switch
        {
            ArgumentException => ErrorCategory.InvalidArgument,
            FormatException or InvalidDataException => ErrorCategory.InvalidData,
            FileNotFoundException or DirectoryNotFoundException => ErrorCategory.ObjectNotFound,
            UnauthorizedAccessException => ErrorCategory.PermissionDenied,
            IOException => ErrorCategory.WriteError,
            OperationCanceledException => ErrorCategory.OperationStopped,
            OutOfMemoryException => ErrorCategory.ResourceUnavailable,
            _ => ErrorCategory.NotSpecified,
        };
        return new ErrorRecord(e, errorId ?? e.GetType().Name.Replace("Exception", ""), cat, target);
    }

    public static ErrorRecord Argument(string message, string errorId, object? target) =>
        new(new ArgumentException(message), errorId, ErrorCategory.InvalidArgument, target);

    /// <summary>
    /// Any use of a disposed pipeline (see PipelineAccess): one error id, the pipeline as target, and the fix in the message.
    /// </summary>
    public static ErrorRecord PipelineDisposed(Objects.SdPipeline pipeline, Pipeline.PipelineDisposedException? e = null) =>
        new(e ?? new Pipeline.PipelineDisposedException(pipeline.Model, duringRun: false), "PipelineDisposed", ErrorCategory.InvalidOperation, pipeline);
}
