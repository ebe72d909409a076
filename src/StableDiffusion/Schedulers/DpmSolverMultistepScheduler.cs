using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DPMSolverMultistepScheduler</c> (0.35.2): DPM-Solver / DPM-Solver++ of order 1–3 and their SDE
/// variants, in sigma space (alpha_t, sigma_t derived from the float32 sigmas). "DPM++ 2M" is the default;
/// with <c>use_karras_sigmas</c> it is "DPM++ 2M Karras"; <c>algorithm_type="sde-dpmsolver++"</c> is "DPM++ 2M SDE".
/// Arithmetic follows diffusers' float32 tensor operations one by one.
/// </summary>
public sealed class DpmSolverMultistepScheduler : DpmSolverSchedulerBase
{
    public const string ClassName = "DPMSolverMultistepScheduler";

    public static readonly SchedulerRegistration Registration = new(
        ClassName, order: 1, stochastic: false,
        "DPM++ 2M: the fast all-rounder (good images in 20–25 steps); Karras sigmas for fewer steps, the SDE variant for more texture.",
        DeclareOptions(lowerOrderFinal: true, timestepSpacing: true, "dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++", "deis")
            .Add(SchedulerOption.Boolean("euler_at_final", false))
            .Add(SchedulerOption.Boolean("use_lu_lambdas", false))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new DpmSolverMultistepScheduler(options),
        new SchedulerAlias("DPM++ 2M"),
        new SchedulerAlias("DPM++ 2M Karras", ("use_karras_sigmas", true)),
        new SchedulerAlias("DPM++ 2M SDE", ("algorithm_type", "sde-dpmsolver++")),
        new SchedulerAlias("DPM++ 2M SDE Karras", ("algorithm_type", "sde-dpmsolver++"), ("use_karras_sigmas", true)));

    private readonly bool _eulerAtFinal;
    private readonly bool _roundConvertedTimesteps;
    private int _lowerOrderNums;

    public DpmSolverMultistepScheduler(SchedulerOptions options) : base(options)
    {
        if (Algorithm == DpmAlgorithm.SdeDpmSolver && SolverOrder == 3)
            throw new NotSupportedException(
                $"{ClassName}: algorithm_type 'sde-dpmsolver' has no third-order update in diffusers 0.35.2; use solver_order 1 or 2.");
        _eulerAtFinal = options.GetBool("euler_at_final");
        _roundConvertedTimesteps = options.GetString("beta_schedule") != NoiseSchedule.SquaredCosCapV2;
    }

    public override string Name => ClassName;

    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(NoiseSchedule, inferenceSteps, Spacing, StepsOffset, LambdaMinClipped,
            SigmaSpacing, _roundConvertedTimesteps, FinalSigmaZero ? DpmFinalSigma.Zero : DpmFinalSigma.TrainingMin);

    protected override void ResetState(int inferenceSteps) => _lowerOrderNums = 0;

    protected override void StepCore(int i, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        int n = StepCount;
        // diffusers lowers the order at the end for stability: few steps, Euler at the end, or a final sigma of 0.
        bool small = LowerOrderFinal && n < 15;
        bool lowerOrderFinal = i == n - 1 && (_eulerAtFinal || small || FinalSigmaZero);
        bool lowerOrderSecond = i == n - 2 && small;

        var sigmas = SigmaValues;
        ConvertModelOutput(modelOutput, sample, sigmas[i], shape, History.Push(shape.Length));
        var noise = StepNoise(generators, shape);

        if (SolverOrder == 1 || _lowerOrderNums < 1 || lowerOrderFinal)
            DpmSolverUpdates.FirstOrder(Algorithm, sigmas[i + 1], sigmas[i], History[0], sample, noise);
        else if (SolverOrder == 2 || _lowerOrderNums < 2 || lowerOrderSecond)
            DpmSolverUpdates.MultistepSecondOrder(Algorithm, Heun, sigmas[i + 1], sigmas[i], sigmas[i - 1],
                History[0], History[1], sample, noise);
        else
            DpmSolverUpdates.MultistepThirdOrder(Algorithm, sigmas[i + 1], sigmas[i], sigmas[i - 1], sigmas[i - 2],
                History[0], History[1], History[2], sample, noise);

        if (_lowerOrderNums < SolverOrder) _lowerOrderNums++;
    }
}
