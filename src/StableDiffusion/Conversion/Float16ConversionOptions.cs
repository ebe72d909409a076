namespace StableDiffusion.Conversion;

/// <summary>What a float16 conversion keeps in float32.</summary>
public sealed record Float16ConversionOptions
{
    /// <summary>
    /// Operators kept in float32 whatever the options: periodic functions whose arguments are large (the timestep
    /// embedding's sin/cos of t·freq: float16 would be off by a quarter turn at t ≈ 1000), float Range, and the
    /// reductions that sum many values (they overflow float16's 65504).
    /// </summary>
    public static IReadOnlyList<string> DefaultKeptOps { get; } =
        ["Sin", "Cos", "Range", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceProd", "ReduceLogSum", "ReduceLogSumExp"];

    /// <summary>Keep the graphs' float inputs and outputs float32 (Cast nodes convert at the boundary).</summary>
    public bool KeepIOTypes { get; init; }

    /// <summary>
    /// Convert the VAE even when its config says <c>force_upcast</c> (the SDXL VAE: its activations overflow float16's
    /// range and decode to NaN, which diffusers avoids by running it in float32). Off: such a VAE is copied in float32.
    /// </summary>
    public bool IncludeVae { get; init; }

    /// <summary>More operator types or node names to keep in float32 (besides <see cref="DefaultKeptOps"/>).</summary>
    public IReadOnlyCollection<string> KeepOps { get; init; } = [];
}
