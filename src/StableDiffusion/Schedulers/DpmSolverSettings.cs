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
    public required DpmAlgorithm Algorithm { get; init; }
    public required int SolverOrder { get; init; }
    public required bool Heun { get; init; }
    public required string PredictionType { get; init; }
    public required bool LowerOrderFinal { get; set; }
    public required bool FinalSigmaZero { get; init; }
    public required DpmSigmaSpacing SigmaSpacing { get; init; }
    public required bool LearnedVariance { get; init; }
    public required string BetaSchedule { get; init; }
    public DynamicThresholding? Thresholding { get; init; }

    public bool IsSde => Algorithm is DpmAlgorithm.SdeDpmSolver or DpmAlgorithm.SdeDpmSolverPlusPlus;
    public bool PredictsData => Algorithm is DpmAlgorithm.DpmSolverPlusPlus or DpmAlgorithm.SdeDpmSolverPlusPlus;

    /// <summary>
    /// The options both DPM-Solver classes declare (diffusers 0.35.2 defaults); <c>deis</c> and the other families'
    /// solver types are accepted and mapped as diffusers does.
    /// </summary>
    internal static SchedulerOptionSet DeclareOptions(bool lowerOrderFinalDefault, params string[] algorithms) =>
        VpSolverScheduler.BaseOptions()
            .Add(SchedulerOption.Choice("algorithm_type", "dpmsolver++", algorithms))
            .Add(SchedulerOption.Choice("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2"))
            .Add(SchedulerOption.Boolean("lower_order_final", lowerOrderFinalDefault))
            .Add(CommonOptions.FinalSigmasType())
            .Add(SchedulerOption.Number("lambda_min_clipped", 0).WithDefault(System.Text.Json.Nodes.JsonValue.Create("-Infinity")))
            .Add(SchedulerOption.NullableChoice("variance_type", null, "learned", "learned_range"));

    public static DpmSolverSettings Read(SchedulerOptions options, string scheduler)
    {
        // Like diffusers: a DEIS/UniPC config maps onto the closest DPM-Solver settings.
        string algorithm = options.GetString("algorithm_type");
        var parsedAlgorithm = algorithm switch
        {
            "dpmsolver" => DpmAlgorithm.DpmSolver,
            "sde-dpmsolver" => DpmAlgorithm.SdeDpmSolver,
            "sde-dpmsolver++" => DpmAlgorithm.SdeDpmSolverPlusPlus,
            _ => DpmAlgorithm.DpmSolverPlusPlus, // dpmsolver++, deis
        };
        bool finalZero = options.GetString("final_sigmas_type") == SigmaSchedule.FinalZero;
        if (finalZero && parsedAlgorithm is DpmAlgorithm.DpmSolver or DpmAlgorithm.SdeDpmSolver)
            throw new ArgumentException(
                $"{scheduler}: final_sigmas_type 'zero' is not supported with algorithm_type '{algorithm}'; choose 'sigma_min'.",
                "final_sigmas_type");
        int order = options.GetInt("solver_order");
        if (order is < 1 or > 3)
            throw new ArgumentOutOfRangeException("solver_order", order, $"{scheduler}: solver_order must be 1, 2 or 3.");

        return new DpmSolverSettings
        {
            Algorithm = parsedAlgorithm,
            SolverOrder = order,
            Heun = options.GetString("solver_type") == "heun",
            PredictionType = options.GetString("prediction_type"),
            LowerOrderFinal = options.GetBool("lower_order_final"),
            FinalSigmaZero = finalZero,
            SigmaSpacing = VpSolverScheduler.ReadSigmaSpacing(options, scheduler),
            LearnedVariance = !options.IsNull("variance_type"),
            BetaSchedule = options.GetString("beta_schedule"),
            Thresholding = VpSolverScheduler.ReadThresholding(options),
        };
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
            Thresholding?.Apply(result, shape);
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
        if (Thresholding is not null)
        {
            // Threshold the implied x0, then return the epsilon that matches it.
            for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * result[k]) / alpha;
            Thresholding.Apply(result, shape);
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
