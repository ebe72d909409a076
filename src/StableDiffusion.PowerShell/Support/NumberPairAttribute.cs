using System.Collections;
using System.Management.Automation;
using StableDiffusion.Pipeline;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// For SDXL's (height, width) and (top, left) parameters: two whole numbers in diffusers' order, given as an array
/// (<c>@(1024, 768)</c>) or text (<c>'1024,768'</c>, <c>'(1024, 768)'</c>: a CSV cell, our PNG metadata); an empty cell is
/// "not given". "1024x768" is refused (A1111 writes sizes width first, diffusers height first). Anything else is refused with
/// a message naming the value; the binding error names the parameter.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class NumberPairAttribute(bool position = false) : RowTolerantTransformationAttribute
{
    public override object? Convert(object? inputData)
    {
        object? value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is null or HeightWidth or TopLeft) return value;
        if (value is string blank && blank.Trim().Length == 0) return null;
        if (value is IList list) value = list.Cast<object?>().Select(v => v is PSObject p ? p.BaseObject : v).ToArray();
        string name = position ? "a position" : "a size";
        try
        {
            return position ? TopLeft.Parse(value, name) : HeightWidth.Parse(value, name);
        }
        catch (FormatException e)
        {
            throw new ArgumentTransformationMetadataException(e.Message, e);
        }
    }
}

/// <summary>An empty or blank text (a CSV cell) is "not given": null, for optional parameters of other types (enums).</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class EmptyAsNullAttribute : RowTolerantTransformationAttribute
{
    public override object? Convert(object? inputData) =>
        (inputData is PSObject pso ? pso.BaseObject : inputData) is string s && s.Trim().Length == 0 ? null : inputData;
}
