using System.Management.Automation;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// A transformation that refuses a bad value with its own message on the command line, but lets a bad value from a
/// piped row through unchanged: PowerShell would turn the refusal into a generic binding error that skips the row
/// without naming it, while <see cref="PipelineRowBinder"/> reads the row again and reports it (row, column, value).
/// </summary>
internal abstract class RowTolerantTransformationAttribute : ArgumentTransformationAttribute
{
    public sealed override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        if (!PipelineRowMarkerAttribute.Binding) return Convert(inputData);
        try
        {
            return Convert(inputData);
        }
        catch (ArgumentTransformationMetadataException)
        {
            return inputData;
        }
    }

    /// <summary>The value for the parameter.</summary>
    /// <exception cref="ArgumentTransformationMetadataException">The value cannot be used (the message names it and the fix).</exception>
    public abstract object? Convert(object? inputData);
}
