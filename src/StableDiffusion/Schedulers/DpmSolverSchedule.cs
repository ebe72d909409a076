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

    /// <param name="schedule">The training noise schedule (float32 cumulative alphas).</param>
    /// <param name="steps">num_inference_steps.</param>
    /// <param name="spacing">timestep_spacing: linspace, leading or trailing.</param>
    /// <param name="stepsOffset">steps_offset (only 'leading' uses it).</param>
    /// <param name="lambdaMinClipped">lambda_min_clipped (−∞ for the schedulers without it).</param>
    /// <param name="sigmaSpacing">Which converted sigmas, if any.</param>
    /// <param name="roundConvertedTimesteps">Whether the timesteps of Karras / Lu sigmas are rounded (not for squaredcos in DPM multistep).</param>
    /// <param name="finalSigma">The appended last sigma.</param>
    public static Result Build(NoiseSchedule schedule, int steps, string spacing, int stepsOffset, double lambdaMinClipped,
                               DpmSigmaSpacing sigmaSpacing, bool roundConvertedTimesteps, DpmFinalSigma finalSigma)
    {
        if (steps < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of inference steps must be at least 1.");
        float[] alphasCumprod = schedule.AlphasCumprod;
        int trainSteps = alphasCumprod.Length;
        float[] trainSigmas = schedule.TrainSigmas();
        float[] logSigmas = SigmaSchedule.LogSigmas(trainSigmas);

        int lastTimestep = trainSteps - ClippedCount(alphasCumprod, lambdaMinClipped);
        double[] timesteps = GridTimesteps(steps, spacing, stepsOffset, lastTimestep, trainSteps);

        double[] sigmas;
        switch (sigmaSpacing)
        {
            case DpmSigmaSpacing.Interpolated:
                sigmas = SigmaSchedule.Interpolate(timesteps, trainSigmas);
                break;
            case DpmSigmaSpacing.Karras:
                sigmas = SigmaSchedule.Karras(trainSigmas[0], trainSigmas[^1], steps);
                timesteps = SigmasToTimesteps(sigmas, logSigmas, roundConvertedTimesteps);
                break;
            case DpmSigmaSpacing.Exponential:
                sigmas = SigmaSchedule.Exponential(trainSigmas[0], trainSigmas[^1], steps);
                timesteps = SigmasToTimesteps(sigmas, logSigmas, round: false);
                break;
            case DpmSigmaSpacing.LuLambdas:
            {
                // diffusers ramps the float32 log-sigmas uniformly (rho = 1) and exponentiates.
                double lambdaMin = logSigmas[0], lambdaMax = logSigmas[^1];
                double[] ramp = NumpyOps.Linspace(0, 1, steps);
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
            float lambda = TorchMath.Log(MathF.Sqrt(a)) - TorchMath.Log(MathF.Sqrt(1f - a)); // torch.log: SLEEF
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
                double[] grid = NumpyOps.Linspace(0, lastTimestep - 1, steps + 1);
                for (int i = 0; i < steps; i++) t[i] = NumpyOps.Round(grid[steps - i]);
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
                // np.arange(last, 0, -N/steps).round() - 1; a clipped last timestep can give another count, which diffusers keeps.
                t = NumpyOps.Arange(lastTimestep, 0, -(double)trainSteps / steps);
                for (int i = 0; i < t.Length; i++) t[i] = NumpyOps.Round(t[i]) - 1;
                break;
            default:
                throw TimestepSpacing.InvalidSpacing(spacing);
        }
        return t;
    }

    private static double[] SigmasToTimesteps(double[] sigmas, float[] logSigmas, bool round)
    {
        var t = new double[sigmas.Length];
        for (int i = 0; i < t.Length; i++)
        {
            double v = SigmaSchedule.SigmaToT(sigmas[i], logSigmas);
            t[i] = round ? NumpyOps.Round(v) : v;
        }
        return t;
    }
}
