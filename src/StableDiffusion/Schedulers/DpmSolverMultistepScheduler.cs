using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DPMSolverMultistepScheduler</c> (0.35.2): DPM-Solver / DPM-Solver++ of order 1–3 and their SDE
/// variants, in sigma space (alpha_t, sigma_t derived from the float32 sigmas). "DPM++ 2M" is the default;
/// with <c>use_karras_sigmas</c> it is "DPM++ 2M Karras"; <c>algorithm_type="sde-dpmsolver++"</c> is "DPM++ 2M SDE".
/// Arithmetic follows diffusers' float32 tensor operations one by one.
/// </summary>
public sealed class DpmSolverMultistepScheduler : VpSolverScheduler
{
    public const string ClassName = "DPMSolverMultistepScheduler";

    private readonly DpmSolverSettings _settings;
    private readonly bool _eulerAtFinal;
    private readonly bool _roundConvertedTimesteps;
    private readonly string _spacing;
    private readonly int _stepsOffset;
    private readonly double _lambdaMinClipped;
    private readonly ModelOutputHistory _history;
    private int _lowerOrderNums;

    public DpmSolverMultistepScheduler(SchedulerConfig config) : base(config, supportsZeroSnrRescale: true)
    {
        _settings = DpmSolverSettings.Read(config, ClassName,
            allowedAlgorithms: ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"],
            lowerOrderFinalDefault: true, allowLuLambdas: true);
        if (_settings.Algorithm == DpmAlgorithm.SdeDpmSolver && _settings.SolverOrder == 3)
            throw new NotSupportedException(
                $"{ClassName}: algorithm_type 'sde-dpmsolver' has no third-order update in diffusers 0.35.2; use solver_order 1 or 2.");
        _eulerAtFinal = config.GetBool("euler_at_final", false);
        _roundConvertedTimesteps = _settings.BetaSchedule != "squaredcos_cap_v2";
        _spacing = ReadChoice(config, "timestep_spacing", "linspace", "linspace", "leading", "trailing");
        _stepsOffset = config.GetInt("steps_offset", 0);
        _lambdaMinClipped = config.GetDouble("lambda_min_clipped", double.NegativeInfinity);
        _history = new ModelOutputHistory(_settings.SolverOrder);
        if (config.GetBool("rescale_betas_zero_snr", false))
            AlphasCumprod[^1] = MathF.Pow(2, -24); // diffusers: near zero so that the first sigma stays finite
    }

    public override string Name => ClassName;

    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(AlphasCumprod, inferenceSteps, _spacing, _stepsOffset, _lambdaMinClipped,
            _settings.SigmaSpacing, _roundConvertedTimesteps,
            _settings.FinalSigmaZero ? DpmFinalSigma.Zero : DpmFinalSigma.TrainingMin);

    protected override void ResetState(int inferenceSteps)
    {
        _history.Clear();
        _lowerOrderNums = 0;
    }

    protected override int ExpectedModelOutputLength(LatentShape shape) => _settings.ModelOutputLength(shape);

    protected override void StepCore(ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        int n = StepCount, i = StepIndex;
        bool small = _settings.LowerOrderFinal && n < 15;
        bool lowerOrderFinal = i == n - 1 && (_eulerAtFinal || small || _settings.FinalSigmaZero);
        bool lowerOrderSecond = i == n - 2 && small;

        var sigmas = SigmaValues;
        var converted = _history.Push(shape.Length);
        _settings.ConvertModelOutput(modelOutput, sample, sigmas[i], shape, converted);

        ReadOnlySpan<float> noise = _settings.IsSde ? DrawNoise(generators, shape) : default;

        if (_settings.SolverOrder == 1 || _lowerOrderNums < 1 || lowerOrderFinal)
            DpmSolverUpdates.FirstOrder(_settings.Algorithm, sigmas[i + 1], sigmas[i], _history[0], sample, noise);
        else if (_settings.SolverOrder == 2 || _lowerOrderNums < 2 || lowerOrderSecond)
            DpmSolverUpdates.MultistepSecondOrder(_settings.Algorithm, _settings.Heun, sigmas[i + 1], sigmas[i], sigmas[i - 1],
                _history[0], _history[1], sample, noise);
        else
            DpmSolverUpdates.MultistepThirdOrder(_settings.Algorithm, sigmas[i + 1], sigmas[i], sigmas[i - 1], sigmas[i - 2],
                _history[0], _history[1], _history[2], sample, noise);

        if (_lowerOrderNums < _settings.SolverOrder) _lowerOrderNums++;
    }
}
