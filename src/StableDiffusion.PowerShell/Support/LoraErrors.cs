using System.Management.Automation;
using StableDiffusion.Lora;
using StableDiffusion.Weights;

namespace StableDiffusion.PowerShell.Support;

/// <summary>The LoRA cmdlets' one mapping of the library's LoRA refusals to error ids (shared so each id means one thing).</summary>
internal static class LoraErrors
{
    /// <summary>True for the exceptions reading or fusing a LoRA throws on bad input.</summary>
    public static bool IsLoraProblem(Exception e) => e is LoraMappingException or LoraFormatException or SafetensorsFormatException
        or UnsupportedWeightsFormatException or FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException
        or ArgumentException or IOException;

    public static ErrorRecord From(Exception e, object target) => e switch
    {
        LoraMappingException { OtherFamily: true } => new ErrorRecord(e, "LoraWrongFamily", ErrorCategory.InvalidArgument, target),
        LoraMappingException => new ErrorRecord(e, "LoraKeysUnmapped", ErrorCategory.InvalidData, target),
        LoraFormatException { NonFiniteValues: true } =>
            new ErrorRecord(e, "LoraNonFiniteWeights", ErrorCategory.InvalidData, target),
        LoraFormatException or SafetensorsFormatException => new ErrorRecord(e, "LoraInvalidFile", ErrorCategory.InvalidData, target),
        UnsupportedWeightsFormatException => new ErrorRecord(e, "LoraPickleRefused", ErrorCategory.SecurityError, target),
        FileNotFoundException or DirectoryNotFoundException => new ErrorRecord(e, "LoraFileNotFound", ErrorCategory.ObjectNotFound, target),
        ArgumentOutOfRangeException => new ErrorRecord(e, "LoraWeightNotFinite", ErrorCategory.InvalidArgument, target),
        _ => ErrorRecords.From(e, target, "LoraLoadFailed"),
    };
}
