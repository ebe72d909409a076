using System.Globalization;
using System.Management.Automation;

namespace StableDiffusion.PowerShell.Support;

/// <summary>
/// For an optional number bound from CSV cells: an empty cell means "not given" (null), text is read with the
/// invariant culture ("0.75" everywhere), and text that is no number is refused with a message naming the value (the
/// binding error names the parameter, that is the column). Other values pass through to PowerShell's conversion.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class OptionalNumberAttribute(bool integer = false) : RowTolerantTransformationAttribute
{
    public override object? Convert(object? inputData)
    {
        object? value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is not string text) return value;
        text = text.Trim();
        if (text.Length == 0) return null;
        if (integer && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int i)) return i;
        if (!integer && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        throw new ArgumentTransformationMetadataException(
            $"'{text}' is not {(integer ? "a whole number" : "a number")}; write {(integer ? "one such as 8" : "one such as 0.75 (with a dot)")}, or leave the value empty for the default.");
    }
}
