namespace StableDiffusion.Weights;

/// <summary>One tensor's header entry, validated: its bytes lie at [Begin, End) of the data area.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>The number of elements (1 for a 0-dim tensor).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>True for the float types this library reads as float32 (F32, F16, BF16).</summary>
    public bool IsReadableFloat => DType is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16;

    public static int ElementSize(SafetensorsDType type) => type switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 or SafetensorsDType.U64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 or SafetensorsDType.U32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 or SafetensorsDType.U16 => 2,
        _ => 1,
    };
}
