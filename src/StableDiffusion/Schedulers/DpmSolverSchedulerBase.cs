using StableDiffusion.Random;

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
/// What DPMSolverMultistep and DPMSolverSinglestep share: their options, read and checked the way their constructors
/// do, <c>convert_model_output</c> (model output → x0 for the ++ variants, → epsilon for the others, the mean channels
/// only when a learned variance follows them) and the step noise of the SDE variants.
/// </summary>
public abstract class DpmSolverSchedulerBase : VpSolverScheduler
{
    private protected DpmSolverSchedulerBase(SchedulerOptions options) : base(options)
    {
        // Like diffusers: a DEIS/UniPC config maps onto the closest DPM-Solver settings.
        string algorithm = options.GetString("algorithm_type");
        Algorithm = algorithm switch
        {
            "dpmsolver" => DpmAlgorithm.DpmSolver,
            "sde-dpmsolver" => DpmAlgorithm.SdeDpmSolver,
            "sde-dpmsolver++" => DpmAlgorithm.SdeDpmSolverPlusPlus,
            _ => DpmAlgorithm.DpmSolverPlusPlus, // dpmsolver++, deis
        };
        FinalSigmaZero = options.GetString("final_sigmas_type") == SigmaSchedule.FinalZero;
        if (FinalSigmaZero && Algorithm is DpmAlgorithm.DpmSolver or DpmAlgorithm.SdeDpmSolver)
            throw new ArgumentException(
                $"{Name}: final_sigmas_type 'zero' is not supported with algorithm_type '{algorithm}'; choose 'sigma_min'.",
                "final_sigmas_type");
        Heun = options.GetString("solver_type") == "heun";
        LearnedVariance = !options.IsNull("variance_type");
        LambdaMinClipped = options.GetDouble("lambda_min_clipped");
    }

    /// <summary>
    /// The options both DPM-Solver classes declare (diffusers 0.35.2 defaults); <c>deis</c> and the other families'
    /// solver types are accepted and mapped as diffusers does.
    /// </summary>
    internal static SchedulerOptionSet DeclareOptions(bool lowerOrderFinal, bool timestepSpacing, params string[] algorithms) =>
        BaseOptions(lowerOrderFinal, timestepSpacing)
            .Add(SchedulerOption.Choice("algorithm_type", "dpmsolver++", algorithms))
            .Add(SchedulerOption.Choice("solver_type", "midpoint", "midpoint", "heun", "logrho", "bh1", "bh2"))
            .Add(CommonOptions.FinalSigmasType())
            .Add(SchedulerOption.Number("lambda_min_clipped", 0).WithDefault(System.Text.Json.Nodes.JsonValue.Create("-Infinity")))
            .Add(SchedulerOption.NullableChoice("variance_type", null, "learned", "learned_range"));

    private protected DpmAlgorithm Algorithm { get; }

    /// <summary><c>solver_type</c> "heun" (else "midpoint").</summary>
    protected bool Heun { get; }

    /// <summary><c>final_sigmas_type</c> "zero" (else "sigma_min").</summary>
    protected bool FinalSigmaZero { get; }

    /// <summary>A <c>variance_type</c> is set: the model output carries variance channels after the prediction.</summary>
    protected bool LearnedVariance { get; }

    /// <summary><c>lambda_min_clipped</c>: timesteps whose half-log-SNR lies below it are left out.</summary>
    protected double LambdaMinClipped { get; }

    protected bool IsSde => Algorithm is DpmAlgorithm.SdeDpmSolver or DpmAlgorithm.SdeDpmSolverPlusPlus;
    protected bool PredictsData => Algorithm is DpmAlgorithm.DpmSolverPlusPlus or DpmAlgorithm.SdeDpmSolverPlusPlus;

    /// <summary>With a learned variance the model appends as many variance channels as the sample has.</summary>
    protected sealed override int ExpectedModelOutputLength(LatentShape shape) => LearnedVariance ? 2 * shape.Length : shape.Length;

    /// <summary>The SDE variants' step noise, or an empty span for the ODE ones.</summary>
    protected ReadOnlySpan<float> StepNoise(IReadOnlyList<IRandomGenerator>? generators, LatentShape shape) =>
        IsSde ? DrawNoise(generators, shape) : default;

    /// <summary>
    /// diffusers' <c>convert_model_output</c> at noise level <paramref name="sigma"/>, written to <paramref name="result"/>:
    /// x0 for the ++ algorithms (optionally thresholded), epsilon for the others.
    /// </summary>
    protected void ConvertModelOutput(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, LatentShape shape,
                                      Span<float> result)
    {
        ReadOnlySpan<float> mean = LearnedVariance ? CopyMean(modelOutput, shape, result) : modelOutput;
        if (PredictsData)
        {
            PredictData(mean, sample, sigma, shape, result);
            return;
        }
        PredictNoise(mean, sample, sigma, result);
        if (Thresholding is not null)
        {
            // Threshold the implied x0, then return the epsilon that matches it.
            var (alpha, sigmaT) = VpSigmaMath.AlphaSigma(sigma);
            for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * result[k]) / alpha;
            Thresholding.Apply(result, shape);
            for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - alpha * result[k]) / sigmaT;
        }
    }

    /// <summary>Copies the prediction channels (the first C of each image, before its variance channels) to <paramref name="result"/>.</summary>
    private static Span<float> CopyMean(ReadOnlySpan<float> modelOutput, LatentShape shape, Span<float> result)
    {
        int image = shape.ImageLength;
        for (int b = 0; b < shape.Batch; b++)
            modelOutput.Slice(2 * b * image, image).CopyTo(result.Slice(b * image, image));
        return result;
    }
}
