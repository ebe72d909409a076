namespace StableDiffusion.Schedulers;

/// <summary>diffusers' <c>algorithm_type</c> of the DPM-Solver schedulers.</summary>
internal enum DpmAlgorithm
{
    /// <summary>DPM-Solver: integrates the noise prediction.</summary>
    DpmSolver,
    /// <summary>DPM-Solver++: integrates the data (x0) prediction.</summary>
    DpmSolverPlusPlus,
    /// <summary>Stochastic DPM-Solver (noise prediction).</summary>
    SdeDpmSolver,
    /// <summary>Stochastic DPM-Solver++ (data prediction).</summary>
    SdeDpmSolverPlusPlus,
}

/// <summary>
/// The options DPMSolverMultistep and DPMSolverSinglestep share, read and checked the way their constructors do,
/// plus <c>convert_model_output</c> (model output → x0 for the ++ variants, → epsilon for the others).
/// </summary>
internal sealed class DpmSolverSettings
{
    private DynamicThresholding? _thresholding;

    public required DpmAlgorithm Algorithm { get; init; }
    public required int SolverOrder { get; init; }
    public required bool Heun { get; init; }
    public required string PredictionType { get; init; }
    public required bool LowerOrderFinal { get; set; }
    public required bool FinalSigmaZero { get; init; }
    public required DpmSigmaSpacing SigmaSpacing { get; init; }
    public required bool LearnedVariance { get; init; }
    public required string BetaSchedule { get; init; }

    public bool IsSde => Algorithm is DpmAlgorithm.SdeDpmSolver or DpmAlgorithm.SdeDpmSolverPlusPlus;
    public bool PredictsData => Algorithm is DpmAlgorithm.DpmSolverPlusPlus or DpmAlgorithm.SdeDpmSolverPlusPlus;

    public static DpmSolverSettings Read(SchedulerConfig config, string scheduler, string[] allowedAlgorithms,
                                         bool lowerOrderFinalDefault, bool allowLuLambdas)
    {
        // Like diffusers: a DEIS/UniPC config maps onto the closest DPM-Solver settings.
        string algorithm = config.GetString("algorithm_type", "dpmsolver++") ?? "dpmsolver++";
        if (algorithm == "deis") algorithm = "dpmsolver++";
        if (Array.IndexOf(allowedAlgorithms, algorithm) < 0)
            throw new ArgumentException(
                $"{scheduler}: algorithm_type '{algorithm}' is not supported; use one of {string.Join(", ", allowedAlgorithms)}.", nameof(config));
        string solverType = config.GetString("solver_type", "midpoint") ?? "midpoint";
        if (solverType is "logrho" or "bh1" or "bh2") solverType = "midpoint";
        if (solverType is not ("midpoint" or "heun"))
            throw new ArgumentException($"{scheduler}: solver_type '{solverType}' is not supported; use 'midpoint' or 'heun'.", nameof(config));

        int order = config.GetInt("solver_order", 2);
        if (order is < 1 or > 3)
            throw new ArgumentOutOfRangeException(nameof(config), order, $"{scheduler}: solver_order must be 1, 2 or 3.");

        string prediction = config.GetString("prediction_type", "epsilon") ?? "epsilon";
        if (prediction is not ("epsilon" or "sample" or "v_prediction"))
            throw new NotSupportedException($"{scheduler}: prediction_type '{prediction}' is not supported; use 'epsilon', 'sample' or 'v_prediction'.");

        string finalSigmas = config.GetString("final_sigmas_type", "zero") ?? "zero";
        if (finalSigmas is not ("zero" or "sigma_min"))
            throw new ArgumentException($"{scheduler}: final_sigmas_type must be 'zero' or 'sigma_min', not '{finalSigmas}'.", nameof(config));
        var parsedAlgorithm = algorithm switch
        {
            "dpmsolver" => DpmAlgorithm.DpmSolver,
            "dpmsolver++" => DpmAlgorithm.DpmSolverPlusPlus,
            "sde-dpmsolver" => DpmAlgorithm.SdeDpmSolver,
            _ => DpmAlgorithm.SdeDpmSolverPlusPlus,
        };
        if (finalSigmas == "zero" && parsedAlgorithm is DpmAlgorithm.DpmSolver or DpmAlgorithm.SdeDpmSolver)
            throw new ArgumentException(
                $"{scheduler}: final_sigmas_type 'zero' is not supported with algorithm_type '{algorithm}'; choose 'sigma_min'.", nameof(config));

        bool karras = config.GetBool("use_karras_sigmas", false);
        bool exponential = config.GetBool("use_exponential_sigmas", false);
        bool beta = config.GetBool("use_beta_sigmas", false);
        bool lu = allowLuLambdas && config.GetBool("use_lu_lambdas", false);
        if ((karras ? 1 : 0) + (exponential ? 1 : 0) + (beta ? 1 : 0) > 1)
            throw new ArgumentException(
                $"{scheduler}: only one of use_beta_sigmas, use_exponential_sigmas, use_karras_sigmas can be true.", nameof(config));
        if (beta)
            throw new NotSupportedException($"{scheduler}: use_beta_sigmas (scipy's beta quantiles) is not supported by this implementation.");
        foreach (var flag in new[] { "use_flow_sigmas", "use_dynamic_shifting" })
            if (config.GetBool(flag, false))
                throw new NotSupportedException($"{scheduler}: option '{flag}' = true is not supported by this implementation.");

        string? variance = config.GetString("variance_type", null);
        if (variance is not (null or "learned" or "learned_range"))
            throw new ArgumentException($"{scheduler}: variance_type must be null, 'learned' or 'learned_range', not '{variance}'.", nameof(config));

        var settings = new DpmSolverSettings
        {
            Algorithm = parsedAlgorithm,
            SolverOrder = order,
            Heun = solverType == "heun",
            PredictionType = prediction,
            LowerOrderFinal = config.GetBool("lower_order_final", lowerOrderFinalDefault),
            FinalSigmaZero = finalSigmas == "zero",
            SigmaSpacing = karras ? DpmSigmaSpacing.Karras
                : lu ? DpmSigmaSpacing.LuLambdas
                : exponential ? DpmSigmaSpacing.Exponential
                : DpmSigmaSpacing.Interpolated,
            LearnedVariance = variance is not null,
            BetaSchedule = config.GetString("beta_schedule", "linear") ?? "linear",
        };
        if (config.GetBool("thresholding", false))
            settings._thresholding = new DynamicThresholding(
                config.GetDouble("dynamic_thresholding_ratio", 0.995), config.GetDouble("sample_max_value", 1.0));
        return settings;
    }

    /// <summary>With a learned variance the model appends as many variance channels as the sample has.</summary>
    public int ModelOutputLength(LatentShape shape) => LearnedVariance ? 2 * shape.Length : shape.Length;

    /// <summary>
    /// diffusers' <c>convert_model_output</c> at noise level <paramref name="sigma"/>, written to <paramref name="result"/>:
    /// x0 for the ++ algorithms (optionally thresholded), epsilon for the others.
    /// </summary>
    public void ConvertModelOutput(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, LatentShape shape,
                                   Span<float> result)
    {
        CopyMean(modelOutput, shape, result);
        var (alpha, sigmaT) = VpSigmaMath.AlphaSigma(sigma);
        if (PredictsData)
        {
            switch (PredictionType)
            {
                case "epsilon":
                    for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * result[k]) / alpha;
                    break;
                case "v_prediction":
                    for (int k = 0; k < result.Length; k++) result[k] = alpha * sample[k] - sigmaT * result[k];
                    break;
            }
            _thresholding?.Apply(result, shape);
            return;
        }

        switch (PredictionType)
        {
            case "sample":
                for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - alpha * result[k]) / sigmaT;
                break;
            case "v_prediction":
                for (int k = 0; k < result.Length; k++) result[k] = alpha * result[k] + sigmaT * sample[k];
                break;
        }
        if (_thresholding is not null)
        {
            // Threshold the implied x0, then return the epsilon that matches it.
            for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * result[k]) / alpha;
            _thresholding.Apply(result, shape);
            for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - alpha * result[k]) / sigmaT;
        }
    }

    /// <summary>Copies the prediction channels (the first C of each image when variance channels follow them).</summary>
    private void CopyMean(ReadOnlySpan<float> modelOutput, LatentShape shape, Span<float> result)
    {
        if (!LearnedVariance)
        {
            modelOutput.CopyTo(result);
            return;
        }
        int image = shape.ImageLength;
        for (int b = 0; b < shape.Batch; b++)
            modelOutput.Slice(2 * b * image, image).CopyTo(result.Slice(b * image, image));
    }
}
