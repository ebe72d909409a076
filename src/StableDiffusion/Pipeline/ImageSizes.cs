using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;

namespace StableDiffusion.Pipeline;

/// <summary>A size as diffusers orders it: (height, width) — SDXL's original_size / target_size micro-conditioning.</summary>
public readonly record struct HeightWidth(int Height, int Width)
{
    public override string ToString() => $"({Height}, {Width})";

    /// <summary>Reads "(1024, 768)", "1024,768", or a list of two whole numbers, height first.</summary>
    /// <exception cref="FormatException">The value is not such a pair (the message says how to write one).</exception>
    public static HeightWidth Parse(object value, string name)
    {
        var (height, width) = NumberPair.Read(value, name, "height, width", "(1024, 1024)");
        return new HeightWidth(height, width);
    }
}

/// <summary>A position as diffusers orders it: (top, left) — SDXL's crops_coords_top_left.</summary>
public readonly record struct TopLeft(int Top, int Left)
{
    public override string ToString() => $"({Top}, {Left})";

    /// <summary>Reads "(0, 0)", "16,32", or a list of two whole numbers, top first.</summary>
    /// <exception cref="FormatException">The value is not such a pair (the message says how to write one).</exception>
    public static TopLeft Parse(object value, string name)
    {
        var (top, left) = NumberPair.Read(value, name, "top, left", "(0, 0)");
        return new TopLeft(top, left);
    }
}

/// <summary>
/// A pair of whole numbers 0 or more in diffusers' order: two numbers (an array or list) or text "(a, b)" / "a,b". The text
/// form "1024x768" is refused: A1111 writes sizes as width x height, diffusers' pairs are height first, and a guessed order
/// would silently condition on the wrong size.
/// </summary>
internal static partial class NumberPair
{
    public static (int, int) Read(object value, string name, string order, string example)
    {
        string how = $"give {name} as two whole numbers, {order} (diffusers' order): @{example} or '{example}'";
        switch (value)
        {
            case string text:
                var m = Text().Match(text);
                if (m.Success && int.TryParse(m.Groups["a"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int a)
                    && int.TryParse(m.Groups["b"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int b))
                    return (a, b);
                throw new FormatException(text.Contains('x', StringComparison.OrdinalIgnoreCase)
                    ? $"'{text}' is ambiguous (A1111 writes sizes width x height, diffusers' pairs are height first): {how}."
                    : $"'{text}' is not a pair of numbers: {how}.");
            case IList list when list.Count == 2 && Whole(list[0]) is int first && Whole(list[1]) is int second:
                return (first, second);
            case IList list:
                throw new FormatException($"{name} needs exactly 2 whole numbers 0 or more; {list.Count} value(s) were given ({string.Join(", ", list.Cast<object?>())}): {how}.");
            default:
                throw new FormatException($"'{value}' is not a pair of numbers: {how}.");
        }
    }

    private static int? Whole(object? v) => v switch
    {
        int i when i >= 0 => i,
        long l when l is >= 0 and <= int.MaxValue => (int)l,
        short or byte or sbyte or ushort or uint => Convert.ToInt32(v, CultureInfo.InvariantCulture) is var x && x >= 0 ? x : null,
        double d when d >= 0 && d <= int.MaxValue && d == Math.Floor(d) => (int)d,
        decimal m when m >= 0 && m <= int.MaxValue && m == decimal.Truncate(m) => (int)m,
        string s when int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int i) => i,
        System.Text.Json.JsonElement { ValueKind: System.Text.Json.JsonValueKind.Number } e when e.TryGetInt32(out int i) && i >= 0 => i,
        _ => null,
    };

    [GeneratedRegex(@"^\s*[\(\[]?\s*(?<a>\d+)\s*[,;]\s*(?<b>\d+)\s*[\)\]]?\s*$")]
    private static partial Regex Text();
}
