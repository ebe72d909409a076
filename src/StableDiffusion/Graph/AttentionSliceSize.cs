using System.Globalization;

namespace StableDiffusion.Graph;

/// <summary>How many attention heads one slice computes at a time.</summary>
public enum AttentionSliceKind
{
    /// <summary>Half the heads at a time, as diffusers' <c>enable_attention_slicing("auto")</c>.</summary>
    Auto,

    /// <summary>One head at a time: the smallest score tensor, the most kernel launches.</summary>
    Max,

    /// <summary>A fixed number of heads per slice.</summary>
    Heads,
}

/// <summary>A slice size: Auto, Max or a number of heads per slice.</summary>
public readonly record struct AttentionSliceSize
{
    private AttentionSliceSize(AttentionSliceKind kind, int heads)
    {
        Kind = kind;
        HeadsPerSlice = heads;
    }

    public static AttentionSliceSize Auto => new(AttentionSliceKind.Auto, 0);

    public static AttentionSliceSize Max => new(AttentionSliceKind.Max, 1);

    public AttentionSliceKind Kind { get; }

    /// <summary>The fixed number of heads per slice (1 for Max, 0 for Auto).</summary>
    public int HeadsPerSlice { get; }

    public static AttentionSliceSize Heads(int headsPerSlice) =>
        headsPerSlice >= 1
            ? new(AttentionSliceKind.Heads, headsPerSlice)
            : throw new ArgumentOutOfRangeException(nameof(headsPerSlice), headsPerSlice, "A slice holds at least one head.");

    /// <summary>Parses "Auto", "Max" (any case) or a positive integer.</summary>
    public static AttentionSliceSize Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        if (t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return Auto;
        if (t.Equals("max", StringComparison.OrdinalIgnoreCase)) return Max;
        if (int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1) return Heads(n);
        throw new ArgumentException($"'{text}' is not a slice size; use Auto, Max or a positive number of heads per slice.", nameof(text));
    }

    /// <summary>
    /// Heads per slice for an attention with <paramref name="heads"/> heads: Auto = heads / 2 (at least 1), Max = 1,
    /// a number = itself, which (as in diffusers) may not exceed the head count.
    /// </summary>
    public int Resolve(int heads, string attention)
    {
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), heads, "An attention has at least one head.");
        return Kind switch
        {
            AttentionSliceKind.Auto => Math.Max(1, heads / 2),
            AttentionSliceKind.Max => 1,
            _ when HeadsPerSlice <= heads => HeadsPerSlice,
            _ => throw new ArgumentOutOfRangeException(nameof(HeadsPerSlice), HeadsPerSlice,
                $"A slice size of {HeadsPerSlice} heads is more than the {heads} heads of attention '{attention}'; use at most {heads}, or Auto or Max."),
        };
    }

    public override string ToString() => Kind switch
    {
        AttentionSliceKind.Auto => "Auto",
        AttentionSliceKind.Max => "Max",
        _ => HeadsPerSlice.ToString(CultureInfo.InvariantCulture),
    };
}
