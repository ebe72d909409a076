using System.Management.Automation;
using StableDiffusion.Models;
using StableDiffusion.TextualInversion;
using StableDiffusion.Weights;

namespace StableDiffusion.PowerShell.Support;

/// <summary>The errors adding an embedding can give (Add-SdEmbedding, New-SdPipeline -EmbeddingPath), as ErrorRecords.</summary>
internal static class EmbeddingErrors
{
    /// <summary>Whether <paramref name="e"/> is a refusal of an embedding file or token (not a bug).</summary>
    public static bool Handles(Exception e) =>
        e is TextualInversionException or SafetensorsFormatException or UnsupportedWeightsFormatException or ModelLoadException
            or IOException or UnauthorizedAccessException;

    /// <summary>The library's own ids; a broken safetensors file is InvalidEmbeddingFile and a pickle EmbeddingIsPickle.</summary>
    public static ErrorRecord From(Exception e, string path) => e switch
    {
        SafetensorsFormatException f => new ErrorRecord(e, "InvalidEmbeddingFile", ErrorCategory.InvalidData, f.FilePath),
        UnsupportedWeightsFormatException => new ErrorRecord(e, "EmbeddingIsPickle", ErrorCategory.InvalidData, path),
        _ => ErrorRecords.From(e, e is ModelLoadException ? null : path),
    };
}
