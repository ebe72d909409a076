namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>timestep_spacing</c> rules (Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed"),
/// computed with numpy's float64 arithmetic. All results are in descending (sampling) order.
/// </summary>
public static class TimestepSpacing
{
    public const string Linspace = "linspace";
    public const string Leading = "leading";
    public const string Trailing = "trailing";

    /// <summary>The legal values of the <c>timestep_spacing</c> key.</summary>
    public static readonly string[] All = [Linspace, Leading, Trailing];

    /// <summary><c>np.linspace(0, N-1, steps)[::-1]</c> in float64 (not rounded).</summary>
    public static double[] LinspaceValues(int trainTimesteps, int steps)
    {
        var values = NumpyOps.Linspace(0, trainTimesteps - 1, steps);
        Array.Reverse(values);
        return values;
    }

    /// <summary><c>(np.arange(0, steps) * (N // steps)).round()[::-1] + offset</c>.</summary>
    public static double[] LeadingValues(int trainTimesteps, int steps, int stepsOffset)
    {
        int ratio = trainTimesteps / steps;
        var values = new double[steps];
        for (int i = 0; i < steps; i++) values[steps - 1 - i] = (double)i * ratio + stepsOffset;
        return values;
    }

    /// <summary><c>np.round(np.arange(N, 0, -N / steps)) - 1</c>.</summary>
    public static double[] TrailingValues(int trainTimesteps, int steps)
    {
        var values = NumpyOps.Arange(trainTimesteps, 0, -(double)trainTimesteps / steps);
        for (int i = 0; i < values.Length; i++) values[i] = NumpyOps.Round(values[i]) - 1;
        return values;
    }

    /// <summary>
    /// The integer timesteps of DDIM/DDPM/PNDM-style schedulers (int64 in diffusers): linspace is rounded
    /// (half to even), leading adds <paramref name="stepsOffset"/>, trailing subtracts one.
    /// </summary>
    public static double[] IntegerTimesteps(string spacing, int trainTimesteps, int steps, int stepsOffset) =>
        Timesteps(spacing, trainTimesteps, steps, stepsOffset, NumpyOps.Round);

    /// <summary>
    /// The timesteps of the sigma-space schedulers (Euler family, float32 in diffusers 0.35): linspace cast to float32
    /// (not rounded), leading and trailing as integers.
    /// </summary>
    public static double[] Float32Timesteps(string spacing, int trainTimesteps, int steps, int stepsOffset) =>
        Timesteps(spacing, trainTimesteps, steps, stepsOffset, static t => (float)t);

    /// <summary>The three spacings; only the 'linspace' values, which are fractional, depend on the dtype (<paramref name="castLinspace"/>).</summary>
    private static double[] Timesteps(string spacing, int trainTimesteps, int steps, int stepsOffset, Func<double, double> castLinspace)
    {
        switch (spacing)
        {
            case Linspace:
                var values = LinspaceValues(trainTimesteps, steps);
                for (int i = 0; i < values.Length; i++) values[i] = castLinspace(values[i]);
                return values;
            case Leading:
                return LeadingValues(trainTimesteps, steps, stepsOffset);
            case Trailing:
                return TrailingValues(trainTimesteps, steps);
            default:
                throw InvalidSpacing(spacing);
        }
    }

    public static ArgumentException InvalidSpacing(string spacing) =>
        new($"timestep_spacing '{spacing}' is not supported; use \"linspace\", \"leading\" or \"trailing\".", "timestep_spacing");

    /// <summary>Checks <c>num_inference_steps</c> against <c>num_train_timesteps</c> as diffusers does.</summary>
    public static void ValidateSteps(int steps, int trainTimesteps)
    {
        if (steps < 1 || steps > trainTimesteps)
            throw new InvalidSettingException("Steps", "StepsOutOfRange", steps,
                $"Steps must be 1 to {trainTimesteps} (the model's num_train_timesteps, which diffusers allows at most); it is {steps}.");
    }
}
