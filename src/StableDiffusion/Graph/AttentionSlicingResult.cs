namespace StableDiffusion.Graph;

/// <summary>What attention slicing did to a graph.</summary>
public enum AttentionSlicingOutcome
{
    /// <summary>Every attention found was rewritten into head slices.</summary>
    Sliced,

    /// <summary>Some attentions were rewritten; others did not match the pattern and run unsliced (see Skipped).</summary>
    PartlySliced,

    /// <summary>The graph uses fused attention kernels, which do not hold the full score tensor: nothing changed.</summary>
    AlreadyFused,

    /// <summary>Attention-like softmaxes were found but none could be rewritten safely: nothing changed.</summary>
    Unsupported,

    /// <summary>No attention (MatMul → Softmax → MatMul) in the graph: nothing changed.</summary>
    NoAttention,

    /// <summary>Every attention has a single slice at this size (e.g. one head): nothing to change.</summary>
    NothingToSlice,
}

/// <summary>One attention rewritten into <see cref="Slices"/> slices of up to <see cref="HeadsPerSlice"/> heads.</summary>
public sealed record SlicedAttention(string Name, int Heads, int HeadsPerSlice, int Slices, AttentionLayout Layout);

/// <summary>The outcome of <see cref="AttentionSlicer.Slice"/>.</summary>
public sealed record AttentionSlicingResult(
    AttentionSlicingOutcome Outcome,
    AttentionSliceSize SliceSize,
    OnnxGraphFile? Model,
    IReadOnlyList<SlicedAttention> Sliced,
    IReadOnlyList<SkippedAttention> Skipped,
    IReadOnlyList<string> FusedAttention)
{
    /// <summary>True when <see cref="Model"/> is a rewritten graph to run instead of the original.</summary>
    public bool Changed => Model is not null;

    /// <summary>A one-line account for users (the cmdlets' verbose or warning text).</summary>
    public string Describe() => Outcome switch
    {
        AttentionSlicingOutcome.Sliced =>
            $"Sliced {Sliced.Count} attention block(s) at slice size {SliceSize} ({HeadSummary()}).",
        AttentionSlicingOutcome.PartlySliced =>
            $"Sliced {Sliced.Count} attention block(s) at slice size {SliceSize} ({HeadSummary()}); {Skipped.Count} could not be " +
            $"rewritten and run unsliced: {string.Join("; ", Skipped.Select(s => $"{s.Name}: {s.Reason}"))}.",
        AttentionSlicingOutcome.AlreadyFused =>
            $"The UNet already uses fused attention ({FusedAttention.Count} node(s), e.g. '{FusedAttention[0]}'), which does not " +
            "build the full score tensor; attention slicing would not lower its memory, so the graph is left as it is.",
        AttentionSlicingOutcome.Unsupported =>
            $"None of the {Skipped.Count} attention block(s) matches a pattern that can be sliced safely, so the UNet is left as it is: " +
            string.Join("; ", Skipped.Take(3).Select(s => $"{s.Name}: {s.Reason}")) + (Skipped.Count > 3 ? "; …" : "."),
        AttentionSlicingOutcome.NoAttention =>
            "The UNet has no MatMul → Softmax → MatMul attention to slice; it is left as it is.",
        _ => $"At slice size {SliceSize} every attention block is a single slice already; nothing to change.",
    };

    private string HeadSummary()
    {
        var groups = Sliced.GroupBy(s => (s.Heads, s.HeadsPerSlice, s.Slices))
            .Select(g => $"{g.Count()} × {g.Key.Heads} heads in {g.Key.Slices} slices of {g.Key.HeadsPerSlice}");
        return string.Join(", ", groups);
    }
}
