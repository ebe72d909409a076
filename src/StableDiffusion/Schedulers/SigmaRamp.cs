namespace StableDiffusion.Schedulers;

/// <summary>
/// The optional re-spacing of the sigma schedule that diffusers' sigma-space schedulers apply after interpolating
/// the training sigmas: Karras (<c>use_karras_sigmas</c>), exponential (<c>use_exponential_sigmas</c>) or beta
/// (<c>use_beta_sigmas</c>). With a ramp the timesteps become the fractional timesteps of the new sigmas (<c>_sigma_to_t</c>).
/// </summary>
public enum SigmaRampKind
{
    None,
    Karras,
    Exponential,
    Beta,
}

public static class SigmaRamp
{
    /// <summary>The option declarations <c>use_karras_sigmas</c>, <c>use_exponential_sigmas</c>, <c>use_beta_sigmas</c>.</summary>
    public static IEnumerable<SchedulerOption> Options()
    {
        yield return SchedulerOption.Boolean("use_karras_sigmas", false);
        yield return SchedulerOption.Boolean("use_exponential_sigmas", false);
        yield return SchedulerOption.Boolean("use_beta_sigmas", false);
    }

    /// <summary>Reads the three flags (those the class declares); more than one set is an error as in diffusers.</summary>
    public static SigmaRampKind FromOptions(SchedulerOptions options, string schedulerName)
    {
        bool karras = options.IsDeclared("use_karras_sigmas") && options.GetBool("use_karras_sigmas");
        bool exponential = options.IsDeclared("use_exponential_sigmas") && options.GetBool("use_exponential_sigmas");
        bool beta = options.IsDeclared("use_beta_sigmas") && options.GetBool("use_beta_sigmas");
        if ((karras ? 1 : 0) + (exponential ? 1 : 0) + (beta ? 1 : 0) > 1)
            throw new ArgumentException(
                $"{schedulerName}: only one of use_karras_sigmas, use_exponential_sigmas and use_beta_sigmas can be true.", "use_karras_sigmas");
        return karras ? SigmaRampKind.Karras : exponential ? SigmaRampKind.Exponential : beta ? SigmaRampKind.Beta : SigmaRampKind.None;
    }

    /// <summary>
    /// Re-spaces <paramref name="sigmas"/> (descending, float64) into <paramref name="steps"/> sigmas between
    /// σ_min and σ_max, which default to the last and first of <paramref name="sigmas"/>.
    /// </summary>
    public static double[] Apply(SigmaRampKind kind, double[] sigmas, int steps, double? sigmaMin = null, double? sigmaMax = null)
    {
        double min = sigmaMin ?? sigmas[^1];
        double max = sigmaMax ?? sigmas[0];
        return kind switch
        {
            SigmaRampKind.None => sigmas,
            SigmaRampKind.Karras => SigmaSchedule.Karras(min, max, steps),
            SigmaRampKind.Exponential => SigmaSchedule.Exponential(min, max, steps),
            SigmaRampKind.Beta => BetaSigmas(min, max, steps),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>
    /// "Beta Sampling is All You Need" (Lee et al. 2024): σ_min + ppf(1 − r)·(σ_max − σ_min) for r = linspace(0, 1, n),
    /// ppf of Beta(0.6, 0.6).
    /// </summary>
    public static double[] BetaSigmas(double sigmaMin, double sigmaMax, int steps, double alpha = 0.6, double beta = 0.6)
    {
        var ramp = NumpyOps.Linspace(0, 1, steps);
        var result = new double[steps];
        for (int i = 0; i < steps; i++)
            result[i] = sigmaMin + BetaDistribution.Ppf(1 - ramp[i], alpha, beta) * (sigmaMax - sigmaMin);
        return result;
    }

    /// <summary>
    /// The timesteps for ramped sigmas: <c>_sigma_to_t</c> of each, against the float32 training log-sigmas.
    /// </summary>
    public static double[] TimestepsFor(double[] sigmas, ReadOnlySpan<float> logSigmas)
    {
        var t = new double[sigmas.Length];
        for (int i = 0; i < t.Length; i++) t[i] = SigmaSchedule.SigmaToT(sigmas[i], logSigmas);
        return t;
    }
}
