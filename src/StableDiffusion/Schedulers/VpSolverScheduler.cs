using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Common frame of diffusers' exponential-integrator solvers in sigma space (DPM-Solver multistep/singlestep,
/// DEIS, UniPC): no input scaling, <c>init_noise_sigma</c> 1, integer timesteps with float32 sigmas (one more than
/// the timesteps), a step index found from the first timestep given to <see cref="Step"/> and advanced per call.
/// </summary>
public abstract class VpSolverScheduler : SchedulerBase
{
    private float[]? _sigmas;

    protected VpSolverScheduler(SchedulerOptions options) : base(options)
    {
        NoiseSchedule.KeepFirstSigmaFinite();
        RejectUnsupported(options, "use_beta_sigmas", "use_flow_sigmas", "use_dynamic_shifting");
    }

    public override float InitNoiseSigma => 1f;
    public override IReadOnlyList<float>? Sigmas => _sigmas;

    /// <summary>The float32 sigmas of the current run.</summary>
    protected float[] SigmaValues => _sigmas ?? throw new InvalidOperationException($"{Name}: call SetTimesteps before Step.");

    /// <summary>Number of timesteps of the current run.</summary>
    protected int StepCount => TimestepSpan.Length;

    protected sealed override void OnSetTimesteps(int inferenceSteps)
    {
        TimestepSpacing.ValidateSteps(inferenceSteps, NoiseSchedule.TrainTimesteps);
        var schedule = BuildSchedule(inferenceSteps);
        SetTimestepValues(Array.ConvertAll(schedule.Timesteps, t => (double)t));
        _sigmas = schedule.Sigmas;
        ResetState(inferenceSteps);
    }

    /// <summary>The DPM family does not scale the model input.</summary>
    public sealed override void ScaleModelInput(Span<float> sample, double timestep) { }

    public sealed override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators = null)
    {
        if (sample.Length != shape.Length)
            throw new ArgumentException($"{Name}: sample has {sample.Length} elements but the shape {shape} needs {shape.Length}.", nameof(sample));
        int expected = ExpectedModelOutputLength(shape);
        if (modelOutput.Length != expected)
            throw new ArgumentException($"{Name}: model output has {modelOutput.Length} elements; {expected} expected for {shape}.", nameof(modelOutput));
        int index = CurrentStepIndex(timestep);
        if (index >= StepCount)
            throw new InvalidOperationException($"{Name} has already run all {StepCount} steps; call SetTimesteps to start again.");
        StepCore(index, modelOutput, sample, shape, generators);
        AdvanceStepIndex();
    }

    /// <summary>Computes this run's timesteps and sigmas (diffusers' <c>set_timesteps</c>).</summary>
    private protected abstract DpmSolverSchedule.Result BuildSchedule(int inferenceSteps);

    /// <summary>Clears the solver state for a new run (model outputs, lower-order counters…).</summary>
    protected abstract void ResetState(int inferenceSteps);

    /// <summary>One step at <paramref name="index"/>: replaces <paramref name="sample"/> with the previous sample.</summary>
    protected abstract void StepCore(int index, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators);

    /// <summary>Length of the model output for a sample of <paramref name="shape"/> (larger when variance channels follow).</summary>
    protected virtual int ExpectedModelOutputLength(LatentShape shape) => shape.Length;

    /// <summary>Declared-but-unimplemented flags must stay false (never silently ignored).</summary>
    private void RejectUnsupported(SchedulerOptions options, params string[] flags)
    {
        foreach (var flag in flags)
            if (options.IsDeclared(flag) && options.GetBool(flag))
                throw new NotSupportedException($"{Name}: option '{flag}' = true is not supported by this implementation.");
    }

    /// <summary>The options every VP solver class declares: noise schedule, solver order, prediction type, thresholding, sigma spacing flags.</summary>
    internal static SchedulerOptionSet BaseOptions(int solverOrder = 2) =>
        new SchedulerOptionSet(CommonOptions.NoiseSchedule())
            .Add(SchedulerOption.Integer("solver_order", solverOrder))
            .Add(CommonOptions.PredictionType())
            .Add(CommonOptions.Thresholding())
            .Add(CommonOptions.UseKarrasSigmas())
            .Add(SchedulerOption.Boolean("use_exponential_sigmas", false))
            .Add(SchedulerOption.Boolean("use_beta_sigmas", false))
            .Add(SchedulerOption.Boolean("use_flow_sigmas", false))
            .Add(SchedulerOption.Number("flow_shift", 1.0))
            .Add(SchedulerOption.Boolean("use_dynamic_shifting", false))
            .Add(SchedulerOption.Choice("time_shift_type", "exponential", "exponential"));

    /// <summary>
    /// The sigma spacing from the <c>use_*_sigmas</c> flags; like diffusers, at most one of Karras / exponential / beta.
    /// </summary>
    internal static DpmSigmaSpacing ReadSigmaSpacing(SchedulerOptions options, string scheduler)
    {
        bool karras = options.GetBool("use_karras_sigmas"), exponential = options.GetBool("use_exponential_sigmas");
        bool beta = options.GetBool("use_beta_sigmas");
        if ((karras ? 1 : 0) + (exponential ? 1 : 0) + (beta ? 1 : 0) > 1)
            throw new ArgumentException(
                $"{scheduler}: only one of use_beta_sigmas, use_exponential_sigmas, use_karras_sigmas can be true.", "use_karras_sigmas");
        if (karras) return DpmSigmaSpacing.Karras;
        if (options.IsDeclared("use_lu_lambdas") && options.GetBool("use_lu_lambdas")) return DpmSigmaSpacing.LuLambdas;
        return exponential ? DpmSigmaSpacing.Exponential : DpmSigmaSpacing.Interpolated;
    }

    /// <summary>Dynamic thresholding when <c>thresholding</c> is on, else null.</summary>
    internal static DynamicThresholding? ReadThresholding(SchedulerOptions options) => DynamicThresholding.FromOptions(options);
}
