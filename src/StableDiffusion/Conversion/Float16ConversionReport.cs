namespace StableDiffusion.Conversion;

/// <summary>What a float16 conversion of one graph did.</summary>
public sealed record Float16ConversionReport
{
    /// <summary>The component (folder name) or graph converted.</summary>
    public required string Component { get; init; }

    public required int Nodes { get; init; }

    /// <summary>Names (or "OpType#position" for unnamed nodes) of the nodes left in float32.</summary>
    public required IReadOnlyList<string> KeptNodes { get; init; }

    /// <summary>Cast nodes inserted where float16 and float32 parts meet.</summary>
    public required int CastsInserted { get; init; }

    public required int ConvertedInitializers { get; init; }

    /// <summary>Float32 initializers and constants left in float32 (every consumer is a kept node or a float32-only input).</summary>
    public required IReadOnlyList<string> KeptInitializers { get; init; }

    /// <summary>Values beyond float16's range (|x| &gt; 65504) saturated to ±65504, e.g. attention masks of float32's minimum.</summary>
    public required long ClampedValues { get; init; }

    /// <summary>Bytes of float weights before and after.</summary>
    public required long BytesBefore { get; init; }
    public required long BytesAfter { get; init; }

    /// <summary>Why the whole component was copied in float32 instead of converted (null when it was converted).</summary>
    public string? Float32Reason { get; init; }

    /// <summary>A component copied unconverted: every node and weight stays float32.</summary>
    public static Float16ConversionReport Unconverted(string component, int nodes, long bytes, string reason) => new()
    {
        Component = component, Nodes = nodes, KeptNodes = [], CastsInserted = 0, ConvertedInitializers = 0, KeptInitializers = [],
        ClampedValues = 0, BytesBefore = bytes, BytesAfter = bytes, Float32Reason = reason,
    };

    public override string ToString() => Float32Reason is not null
        ? $"{Component}: left in float32 ({Float32Reason}), {BytesBefore / 1048576.0:F1} MiB"
        : $"{Component}: {Nodes} nodes, {KeptNodes.Count} kept in float32, {CastsInserted} casts, {ConvertedInitializers} initializers to float16, " +
        $"{KeptInitializers.Count} kept, {ClampedValues} values saturated, {BytesBefore / 1048576.0:F1} → {BytesAfter / 1048576.0:F1} MiB";
}
