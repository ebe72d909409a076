namespace StableDiffusion.Schedulers;

/// <summary>How the DPM-family schedulers place their noise levels (diffusers' <c>use_*_sigmas</c> flags).</summary>
internal enum DpmSigmaSpacing
{
    /// <summary>The training sigmas at the integer timesteps (np.interp on the grid).</summary>
    Interpolated,
    /// <summary><c>use_karras_sigmas</c>: Karras et al. rho = 7 ramp between the extreme training sigmas.</summary>
    Karras,
    /// <summary><c>use_exponential_sigmas</c>: log-uniform sigmas.</summary>
    Exponential,
    /// <summary><c>use_lu_lambdas</c>: uniform log-sigma (DPMSolverMultistep only).</summary>
    LuLambdas,
}

/// <summary>What the appended last sigma is.</summary>
internal enum DpmFinalSigma
{
    /// <summary>0: the last step denoises completely (<c>final_sigmas_type="zero"</c>).</summary>
    Zero,
    /// <summary>The training sigma at t = 0 (<c>final_sigmas_type="sigma_min"</c> with the interpolated spacing).</summary>
    TrainingMin,
    /// <summary>The last converted sigma repeated (DEIS with converted sigmas; UniPC's "sigma_min" with converted sigmas).</summary>
    LastConverted,
}

/// <summary>
/// <c>set_timesteps</c> of DPMSolverMultistep / DPMSolverSinglestep / DEISMultistep / UniPCMultistep in diffusers 0.35.2:
/// integer timesteps and float32 sigmas (one more than the timesteps). Follows the numpy/torch dtypes step by step:
/// float64 grids, float32 training sigmas and their float32 log, float64 converted sigmas, one final cast to float32.
/// </summary>
internal static class DpmSolverSchedule
{
    public readonly record struct Result(long[] Timesteps, float[] Sigmas);

    /// <param name="alphasCumprod">float32 cumulative alphas of the training schedule.</param>
    /// <param name="steps">num_inference_steps.</param>
    /// <param name="spacing">timestep_spacing: linspace, leading or trailing.</param>
    /// <param name="stepsOffset">steps_offset (only 'leading' uses it).</param>
    /// <param name="lambdaMinClipped">lambda_min_clipped (−∞ for the schedulers without it).</param>
    /// <param name="sigmaSpacing">Which converted sigmas, if any.</param>
    /// <param name="roundConvertedTimesteps">Whether the timesteps of Karras / Lu sigmas are rounded (not for squaredcos in DPM multistep).</param>
    /// <param name="finalSigma">The appended last sigma.</param>
    public static Result Build(float[] alphasCumprod, int steps, string spacing, int stepsOffset, double lambdaMinClipped,
                               DpmSigmaSpacing sigmaSpacing, bool roundConvertedTimesteps, DpmFinalSigma finalSigma)
    {
        if (steps < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of inference steps must be at least 1.");
        int trainSteps = alphasCumprod.Length;

        // float32 training sigmas ((1-a)/a)^0.5 and their float32 log (np.log of a float32 array).
        var trainSigmas = new float[trainSteps];
        var logSigmas = new float[trainSteps];
        for (int i = 0; i < trainSteps; i++)
        {
            float a = alphasCumprod[i];
            trainSigmas[i] = MathF.Sqrt((1f - a) / a);
            logSigmas[i] = MathF.Log(trainSigmas[i]);
        }

        int lastTimestep = trainSteps - ClippedCount(alphasCumprod, lambdaMinClipped);
        double[] timesteps = GridTimesteps(steps, spacing, stepsOffset, lastTimestep, trainSteps);

        double[] sigmas;
        switch (sigmaSpacing)
        {
            case DpmSigmaSpacing.Interpolated:
                sigmas = new double[timesteps.Length];
                for (int i = 0; i < sigmas.Length; i++)
                    sigmas[i] = trainSigmas[(int)timesteps[i]]; // np.interp on an exact integer knot
                break;
            case DpmSigmaSpacing.Karras:
                sigmas = Karras(trainSigmas[0], trainSigmas[^1], steps);
                timesteps = SigmasToTimesteps(sigmas, logSigmas, roundConvertedTimesteps);
                break;
            case DpmSigmaSpacing.Exponential:
            {
                double[] logs = Linspace(Math.Log(trainSigmas[^1]), Math.Log(trainSigmas[0]), steps);
                sigmas = new double[steps];
                for (int i = 0; i < steps; i++) sigmas[i] = Math.Exp(logs[i]);
                timesteps = SigmasToTimesteps(sigmas, logSigmas, round: false);
                break;
            }
            case DpmSigmaSpacing.LuLambdas:
            {
                // diffusers ramps the float32 log-sigmas uniformly (rho = 1) and exponentiates.
                double lambdaMin = logSigmas[0], lambdaMax = logSigmas[^1];
                double[] ramp = Linspace(0, 1, steps);
                sigmas = new double[steps];
                for (int i = 0; i < steps; i++) sigmas[i] = Math.Exp(lambdaMax + ramp[i] * (lambdaMin - lambdaMax));
                timesteps = SigmasToTimesteps(sigmas, logSigmas, roundConvertedTimesteps);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(sigmaSpacing));
        }

        double last = finalSigma switch
        {
            DpmFinalSigma.Zero => 0.0,
            DpmFinalSigma.TrainingMin => trainSigmas[0],
            DpmFinalSigma.LastConverted => sigmas[^1],
            _ => throw new ArgumentOutOfRangeException(nameof(finalSigma)),
        };

        var sigmas32 = new float[sigmas.Length + 1];
        for (int i = 0; i < sigmas.Length; i++) sigmas32[i] = (float)sigmas[i];
        sigmas32[^1] = (float)last;

        // torch .to(int64) truncates toward zero (only the unrounded exponential grid has fractions).
        var result = new long[timesteps.Length];
        for (int i = 0; i < result.Length; i++) result[i] = (long)timesteps[i];
        return new Result(result, sigmas32);
    }

    /// <summary>torch.searchsorted(flip(lambda_t), lambda_min_clipped): how many float32 half-log-SNRs lie below the clip.</summary>
    private static int ClippedCount(float[] alphasCumprod, double lambdaMinClipped)
    {
        if (double.IsNegativeInfinity(lambdaMinClipped)) return 0;
        float clip = (float)lambdaMinClipped;
        int count = 0;
        foreach (float a in alphasCumprod)
        {
            float lambda = MathF.Log(MathF.Sqrt(a)) - MathF.Log(MathF.Sqrt(1f - a));
            if (lambda < clip) count++;
        }
        return count;
    }

    /// <summary>The 'linspace' / 'leading' / 'trailing' grids of the DPM family (float64 values, already integral).</summary>
    private static double[] GridTimesteps(int steps, string spacing, int stepsOffset, int lastTimestep, int trainSteps)
    {
        var t = new double[steps];
        switch (spacing)
        {
            case "linspace":
            {
                double[] grid = Linspace(0, lastTimestep - 1, steps + 1);
                for (int i = 0; i < steps; i++) t[i] = Math.Round(grid[steps - i], MidpointRounding.ToEven);
                break;
            }
            case "leading":
            {
                // This family divides by steps + 1 (unlike DDIM/PNDM).
                long ratio = lastTimestep / (steps + 1);
                for (int i = 0; i < steps; i++) t[i] = (steps - i) * ratio + stepsOffset;
                break;
            }
            case "trailing":
            {
                // np.arange(last, 0, -N/steps).round() - 1 with numpy's fill rule: [start, start+step, start+i*delta...];
                // a clipped last timestep can give another count, which diffusers keeps.
                double step = -(double)trainSteps / steps;
                int count = Math.Max(0, (int)Math.Ceiling((0 - lastTimestep) / step));
                t = new double[count];
                double delta = (lastTimestep + step) - lastTimestep;
                for (int i = 0; i < count; i++)
                {
                    double v = i == 0 ? lastTimestep : i == 1 ? lastTimestep + step : lastTimestep + i * delta;
                    t[i] = Math.Round(v, MidpointRounding.ToEven) - 1;
                }
                break;
            }
            default:
                throw new ArgumentException(
                    $"timestep_spacing '{spacing}' is not supported; choose 'linspace', 'leading' or 'trailing'.", nameof(spacing));
        }
        return t;
    }

    /// <summary>Karras et al. (2022) rho = 7 schedule from sigma_max down to sigma_min, float64.</summary>
    private static double[] Karras(double sigmaMin, double sigmaMax, int steps)
    {
        const double rho = 7.0;
        double[] ramp = Linspace(0, 1, steps);
        double minInvRho = Math.Pow(sigmaMin, 1 / rho);
        double maxInvRho = Math.Pow(sigmaMax, 1 / rho);
        var sigmas = new double[steps];
        for (int i = 0; i < steps; i++) sigmas[i] = Math.Pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
        return sigmas;
    }

    private static double[] SigmasToTimesteps(double[] sigmas, float[] logSigmas, bool round)
    {
        var t = new double[sigmas.Length];
        for (int i = 0; i < t.Length; i++)
        {
            double v = SigmaToT(sigmas[i], logSigmas);
            t[i] = round ? Math.Round(v, MidpointRounding.ToEven) : v;
        }
        return t;
    }

    /// <summary>
    /// diffusers' <c>_sigma_to_t</c> with numpy 1.x promotion: the float64 log-sigma meets the float32 table, so the
    /// comparisons and the interpolation weight are float32; only the final blend of the indices is float64.
    /// </summary>
    private static double SigmaToT(double sigma, float[] logSigmas)
    {
        float logSigma = (float)Math.Log(Math.Max(sigma, 1e-10));
        int low = 0;
        for (int i = 0; i < logSigmas.Length; i++)
            if (logSigma - logSigmas[i] >= 0f) low = i;
        low = Math.Min(low, logSigmas.Length - 2);
        float lo = logSigmas[low], hi = logSigmas[low + 1];
        float w = (lo - logSigma) / (lo - hi);
        w = Math.Clamp(w, 0f, 1f);
        return (double)(1f - w) * low + (double)w * (low + 1);
    }

    /// <summary>np.linspace(start, stop, num) in float64 (i*step + start, last = stop).</summary>
    private static double[] Linspace(double start, double stop, int num)
    {
        var y = new double[num];
        if (num == 1) { y[0] = start; return y; }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) y[i] = i * step + start;
        y[num - 1] = stop;
        return y;
    }
}
