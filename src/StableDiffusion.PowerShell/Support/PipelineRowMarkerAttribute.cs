using System.Management.Automation;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// Marks that PowerShell is binding a piped object, not the command line. The hidden InputObject parameter carries it:
/// PowerShell binds by value before it binds by property name, so it is set before any column is transformed. The
/// command clears it when the record is processed; binding runs on the pipeline thread, hence a thread-static flag.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class PipelineRowMarkerAttribute : ArgumentTransformationAttribute
{
    [ThreadStatic]
    private static bool _binding;

    /// <summary>True while a piped object's properties are being bound.</summary>
    public static bool Binding => _binding;

    /// <summary>The record has been bound (called as it is processed, and when the command ends).</summary>
    public static void Clear() => _binding = false;

    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        _binding = true;
        return inputData;
    }
}
