namespace StableDiffusion.Schedulers;

/// <summary>
/// Sigma-space helpers shared by the k-diffusion style schedulers (Euler, Heun, LMS, KDPM2) and the
/// DPM-Solver family: interpolation of the training sigmas at fractional timesteps, Karras / exponential
/// sigma ramps, and the inverse map from a sigma to a (fractional) timestep. float64 like numpy unless stated.
/// </summary>
public static class SigmaSchedule
{
    /// <summary>Values of the <c>final_sigmas_type</c> key.</summary>
    public const string FinalZero = "zero";
    public const string FinalSigmaMin = "sigma_min";

    /// <summary>
    /// <c>np.interp(timesteps, np.arange(0, N), train_sigmas)</c>: the float32 training sigmas (as float64) interpolated
    /// at each timestep.
    /// </summary>
    public static double[] Interpolate(ReadOnlySpan<double> timesteps, ReadOnlySpan<float> trainSigmas)
    {
        var fp = new double[trainSigmas.Length];
        for (int i = 0; i < fp.Length; i++) fp[i] = trainSigmas[i];
        var result = new double[timesteps.Length];
        for (int i = 0; i < result.Length; i++) result[i] = NumpyOps.InterpIndex(timesteps[i], fp);
        return result;
    }

    /// <summary>
    /// Karras et al. (2022) sigma ramp, diffusers' <c>_convert_to_karras</c>:
    /// (σ_max^(1/ρ) + ramp·(σ_min^(1/ρ) − σ_max^(1/ρ)))^ρ with ramp = linspace(0, 1, n), ρ = 7.
    /// </summary>
    public static double[] Karras(double sigmaMin, double sigmaMax, int steps, double rho = 7.0)
    {
        var ramp = NumpyOps.Linspace(0, 1, steps);
        double minInvRho = Math.Pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        var sigmas = new double[steps];
        for (int i = 0; i < steps; i++) sigmas[i] = Math.Pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        return sigmas;
    }

    /// <summary>diffusers' <c>_convert_to_exponential</c>: exp(linspace(log σ_max, log σ_min, n)).</summary>
    public static double[] Exponential(double sigmaMin, double sigmaMax, int steps)
    {
        var lin = NumpyOps.Linspace(Math.Log(sigmaMax), Math.Log(sigmaMin), steps);
        for (int i = 0; i < lin.Length; i++) lin[i] = Math.Exp(lin[i]);
        return lin;
    }

    /// <summary>
    /// <c>np.log</c> of the float32 training sigmas, kept in float32 as numpy does (diffusers' <c>log_sigmas</c>).
    /// </summary>
    public static float[] LogSigmas(ReadOnlySpan<float> trainSigmas)
    {
        var result = new float[trainSigmas.Length];
        for (int i = 0; i < result.Length; i++) result[i] = NumpyMath.LogFloat32(trainSigmas[i]);
        return result;
    }

    /// <summary>
    /// diffusers' <c>_sigma_to_t</c>: the fractional timestep whose log-sigma interpolates <paramref name="sigma"/>
    /// between the two neighbouring training log-sigmas (<paramref name="logSigmas"/> ascending in t, float32).
    /// numpy 1.24's value-based casting keeps the arrays' float32: log σ is rounded to float32 before the distances
    /// and the weight w = (low − log σ)/(low − high) is a float32 division; only t = (1−w)·lo + w·hi is float64.
    /// </summary>
    public static double SigmaToT(double sigma, ReadOnlySpan<float> logSigmas)
    {
        // float32(log σ): the float64 log is rounded when it meets the float32 log_sigmas array.
        return SigmaToTFromLog((float)NumpyMath.LogFloat64(Math.Max(sigma, 1e-10)), logSigmas);
    }

    /// <summary>
    /// <c>_sigma_to_t</c> called with a float32 torch sigma (KDPM2's interpolated sigmas): numpy takes the float32
    /// log of max(σ, 1e-10) instead of the float64 log; the rest is as <see cref="SigmaToT(double, ReadOnlySpan{float})"/>.
    /// </summary>
    public static double SigmaToT(float sigma, ReadOnlySpan<float> logSigmas) =>
        SigmaToTFromLog(NumpyMath.LogFloat32(Math.Max(sigma, 1e-10f)), logSigmas);

    private static double SigmaToTFromLog(float logSigma, ReadOnlySpan<float> logSigmas)
    {
        int n = logSigmas.Length;
        int count = 0, lowIdx = 0, best = 0;
        for (int i = 0; i < n; i++)
        {
            if (logSigma - logSigmas[i] >= 0f) count++;
            if (count > best) { best = count; lowIdx = i; }
        }
        lowIdx = Math.Min(lowIdx, n - 2);
        int highIdx = lowIdx + 1;
        float low = logSigmas[lowIdx], high = logSigmas[highIdx];
        float w = (low - logSigma) / (low - high);
        w = Math.Clamp(w, 0f, 1f);
        return (double)(1f - w) * lowIdx + (double)w * highIdx;
    }

    /// <summary>The last sigma appended after the schedule: 0 ("zero") or the training σ at t = 0 ("sigma_min").</summary>
    public static double FinalSigma(string finalSigmasType, NoiseSchedule schedule) => finalSigmasType switch
    {
        FinalZero => 0.0,
        FinalSigmaMin => MathF.Sqrt((1f - schedule.AlphasCumprod[0]) / schedule.AlphasCumprod[0]),
        _ => throw new ArgumentException(
            $"final_sigmas_type '{finalSigmasType}' is not supported; use \"zero\" or \"sigma_min\".", "final_sigmas_type"),
    };
}
