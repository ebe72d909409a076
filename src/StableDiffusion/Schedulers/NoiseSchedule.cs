namespace StableDiffusion.Schedulers;

/// <summary>
/// The training noise schedule shared by every discrete scheduler: betas, alphas = 1 - betas and their cumulative
/// product, all float32 exactly as diffusers builds them with torch (linspace kernel, float32 square, float64-accumulated cumprod).
/// </summary>
public sealed class NoiseSchedule
{
    public const string Linear = "linear";
    public const string ScaledLinear = "scaled_linear";
    public const string SquaredCosCapV2 = "squaredcos_cap_v2";
    public const string Sigmoid = "sigmoid";

    private NoiseSchedule(float[] betas)
    {
        Betas = betas;
        Alphas = new float[betas.Length];
        for (int i = 0; i < betas.Length; i++) Alphas[i] = 1f - betas[i];
        AlphasCumprod = TorchOps.CumprodFloat32(Alphas);
    }

    public int TrainTimesteps => Betas.Length;
    public float[] Betas { get; }
    public float[] Alphas { get; }

    /// <summary>ᾱ_t for t = 0 … TrainTimesteps-1. Mutable for <see cref="KeepFirstSigmaFinite"/>.</summary>
    public float[] AlphasCumprod { get; }

    /// <summary>Whether the betas were rescaled to zero terminal SNR (<c>rescale_betas_zero_snr</c>), so that ᾱ_T = 0.</summary>
    public bool ZeroTerminalSnr { get; private init; }

    /// <summary>
    /// Builds the schedule from the standard keys <c>num_train_timesteps</c>, <c>beta_start</c>, <c>beta_end</c>,
    /// <c>beta_schedule</c>, <c>trained_betas</c> and (when the class declares it) <c>rescale_betas_zero_snr</c>.
    /// </summary>
    public static NoiseSchedule FromOptions(SchedulerOptions options)
    {
        bool rescale = options.IsDeclared("rescale_betas_zero_snr") && options.GetBool("rescale_betas_zero_snr");
        return Create(
            options.GetInt("num_train_timesteps"),
            options.GetDouble("beta_start"),
            options.GetDouble("beta_end"),
            options.GetString("beta_schedule"),
            options.GetDoubleArray("trained_betas"),
            rescale);
    }

    public static NoiseSchedule Create(int trainTimesteps, double betaStart, double betaEnd, string betaSchedule,
                                       double[]? trainedBetas = null, bool rescaleZeroTerminalSnr = false)
    {
        float[] betas;
        if (trainedBetas is not null)
        {
            betas = Array.ConvertAll(trainedBetas, b => (float)b);
        }
        else
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(trainTimesteps, 1);
            switch (betaSchedule)
            {
                case Linear:
                    betas = TorchOps.LinspaceFloat32(betaStart, betaEnd, trainTimesteps);
                    break;
                case ScaledLinear:
                    // Latent-diffusion schedule: linear in sqrt(beta), squared in float32.
                    betas = TorchOps.LinspaceFloat32(Math.Sqrt(betaStart), Math.Sqrt(betaEnd), trainTimesteps);
                    for (int i = 0; i < betas.Length; i++) betas[i] *= betas[i];
                    break;
                case SquaredCosCapV2:
                    betas = BetasForAlphaBar(trainTimesteps);
                    break;
                case Sigmoid:
                    // DDPM's GeoDiff schedule: sigmoid(linspace(-6, 6)) * (end - start) + start, in float32
                    // (torch's vectorised sigmoid is 1 / (1 + exp(-x)) with SLEEF's exp).
                    betas = TorchOps.LinspaceFloat32(-6, 6, trainTimesteps);
                    float scale = (float)(betaEnd - betaStart), start = (float)betaStart;
                    for (int i = 0; i < betas.Length; i++)
                        betas[i] = 1f / (1f + TorchMath.Exp(-betas[i])) * scale + start;
                    break;
                default:
                    throw new ArgumentException(
                        $"Unknown beta_schedule '{betaSchedule}'; use \"linear\", \"scaled_linear\" or \"squaredcos_cap_v2\" (or give trained_betas).",
                        nameof(betaSchedule));
            }
        }
        if (rescaleZeroTerminalSnr) betas = RescaleZeroTerminalSnr(betas);
        return new NoiseSchedule(betas) { ZeroTerminalSnr = rescaleZeroTerminalSnr };
    }

    /// <summary>
    /// What diffusers' sigma-space classes do after a zero-terminal-SNR rescale: σ_T = sqrt((1 − ᾱ_T)/ᾱ_T) would be
    /// infinite, so ᾱ_T becomes 2^-24 ("close to 0 without being 0", fp16's smallest subnormal).
    /// </summary>
    public void KeepFirstSigmaFinite()
    {
        if (ZeroTerminalSnr) AlphasCumprod[^1] = MathF.Pow(2, -24);
    }

    /// <summary>
    /// diffusers' <c>betas_for_alpha_bar</c> (Glide cosine schedule): beta_i = min(1 - ᾱ((i+1)/N)/ᾱ(i/N), max_beta)
    /// in float64, stored as float32. <paramref name="transform"/> is "cosine" or "exp".
    /// </summary>
    public static float[] BetasForAlphaBar(int trainTimesteps, double maxBeta = 0.999, string transform = "cosine")
    {
        Func<double, double> alphaBar = transform switch
        {
            "cosine" => t => Math.Pow(Math.Cos((t + 0.008) / 1.008 * Math.PI / 2), 2),
            "exp" => t => Math.Exp(t * -12.0),
            _ => throw new ArgumentException($"Unknown alpha_transform_type '{transform}'; use \"cosine\" or \"exp\".", nameof(transform)),
        };
        var betas = new float[trainTimesteps];
        for (int i = 0; i < trainTimesteps; i++)
        {
            double t1 = (double)i / trainTimesteps, t2 = (double)(i + 1) / trainTimesteps;
            betas[i] = (float)Math.Min(1 - alphaBar(t2) / alphaBar(t1), maxBeta);
        }
        return betas;
    }

    /// <summary>
    /// diffusers' <c>rescale_zero_terminal_snr</c> (Lin et al. 2023, Algorithm 1) in float32: shifts and scales
    /// sqrt(ᾱ) so that the last step has zero SNR (ᾱ_T = 0, β_T = 1) and the first is unchanged.
    /// </summary>
    public static float[] RescaleZeroTerminalSnr(ReadOnlySpan<float> betas)
    {
        int n = betas.Length;
        var alphas = new float[n];
        for (int i = 0; i < n; i++) alphas[i] = 1f - betas[i];
        var cumprod = TorchOps.CumprodFloat32(alphas);
        var sqrtBar = new float[n];
        for (int i = 0; i < n; i++) sqrtBar[i] = MathF.Sqrt(cumprod[i]);
        float first = sqrtBar[0], last = sqrtBar[n - 1];
        float factor = first / (first - last);
        for (int i = 0; i < n; i++) sqrtBar[i] = (sqrtBar[i] - last) * factor;
        var bar = new float[n];
        for (int i = 0; i < n; i++) bar[i] = sqrtBar[i] * sqrtBar[i];
        var result = new float[n];
        result[0] = 1f - bar[0];
        for (int i = 1; i < n; i++) result[i] = 1f - bar[i] / bar[i - 1];
        return result;
    }

    /// <summary>
    /// The training sigmas σ_t = sqrt((1 - ᾱ_t) / ᾱ_t) for t = 0 … N-1, computed as torch does in float32.
    /// </summary>
    public float[] TrainSigmas()
    {
        var sigmas = new float[AlphasCumprod.Length];
        for (int i = 0; i < sigmas.Length; i++)
        {
            float a = AlphasCumprod[i];
            sigmas[i] = MathF.Sqrt((1f - a) / a);
        }
        return sigmas;
    }
}
