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

    /// <param name="options">The resolved options.</param>
    /// <param name="extraHistorySlots">Model outputs kept beyond <c>solver_order</c> (UniPC's corrector needs one more).</param>
    protected VpSolverScheduler(SchedulerOptions options, int extraHistorySlots = 0) : base(options)
    {
        NoiseSchedule.KeepFirstSigmaFinite();
        RejectUnsupported(options, "use_beta_sigmas", "use_flow_sigmas", "use_dynamic_shifting");
        SolverOrder = options.GetInt("solver_order");
        if (SolverOrder is < 1 or > 3)
            throw new ArgumentOutOfRangeException("solver_order", SolverOrder, $"{Name}: solver_order must be 1, 2 or 3.");
        PredictionType = options.GetString("prediction_type");
        SigmaSpacing = ReadSigmaSpacing(options, Name);
        LowerOrderFinal = options.GetBool("lower_order_final");
        Thresholding = DynamicThresholding.FromOptions(options);
        History = new ModelOutputHistory(SolverOrder + extraHistorySlots);
    }

    /// <summary><c>solver_order</c> (1–3).</summary>
    protected int SolverOrder { get; }

    /// <summary><c>prediction_type</c>: epsilon, sample or v_prediction.</summary>
    protected string PredictionType { get; }

    /// <summary>
    /// The effective <c>lower_order_final</c> (lower solver orders in the last steps). DPMSolverSinglestep's
    /// <c>set_timesteps</c> rewrites it to true, for good as diffusers does, when the step count is not a multiple of
    /// <c>solver_order</c> or the final sigma is zero.
    /// </summary>
    public bool LowerOrderFinal { get; private protected set; }

    /// <summary>Which sigmas the run uses (<c>use_*_sigmas</c>).</summary>
    private protected DpmSigmaSpacing SigmaSpacing { get; }

    /// <summary>Dynamic thresholding of the data prediction, or null when <c>thresholding</c> is off.</summary>
    private protected DynamicThresholding? Thresholding { get; }

    /// <summary>The converted model outputs of the last steps (diffusers' <c>model_outputs</c>), cleared by <see cref="SchedulerBase.SetTimesteps"/>.</summary>
    private protected ModelOutputHistory History { get; }

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
        History.Clear();
        ResetState(inferenceSteps);
    }

    /// <summary>
    /// The solvers' <c>index_for_timestep</c>: a timestep missing from the schedule means the last step
    /// (<c>len(self.timesteps) - 1</c>), where the other classes fail.
    /// </summary>
    protected sealed override int IndexForTimestep(double timestep) => FindTimestep(timestep) ?? StepCount - 1;

    /// <summary>
    /// <c>add_noise</c>: α_σ·x₀ + σ_σ·noise with (α_σ, σ_σ) = <c>_sigma_to_alpha_sigma_t</c> of the σ that diffusers'
    /// index rule picks (<see cref="SchedulerBase.NoiseSigma"/>).
    /// </summary>
    protected sealed override (float Signal, float Noise) NoiseCoefficients(double timestep) => VpSigmaMath.AlphaSigma(NoiseSigma(timestep));

    /// <summary>The DPM family does not scale the model input.</summary>
    public sealed override void ScaleModelInput(Span<float> sample, double timestep) { }

    public sealed override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        if (index >= StepCount)
            throw new InvalidOperationException($"{Name} has already run all {StepCount} steps; call SetTimesteps to start again.");
        StepCore(index, modelOutput, sample, shape, generators);
        AdvanceStepIndex();
    }

    /// <summary>Computes this run's timesteps and sigmas (diffusers' <c>set_timesteps</c>).</summary>
    private protected abstract DpmSolverSchedule.Result BuildSchedule(int inferenceSteps);

    /// <summary>Clears the solver state for a new run (lower-order counters…; the model outputs are already cleared).</summary>
    protected abstract void ResetState(int inferenceSteps);

    /// <summary>One step at <paramref name="index"/>: replaces <paramref name="sample"/> with the previous sample.</summary>
    protected abstract void StepCore(int index, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators);

    /// <summary>
    /// diffusers' <c>convert_model_output</c> for the solvers that integrate the data prediction: x̂₀ from the model
    /// output at <paramref name="sigma"/> (epsilon: (x − σ_t·ε)/α_t; sample: the output; v: α_t·x − σ_t·v), thresholded
    /// when on. <paramref name="modelOutput"/> may be <paramref name="result"/> itself.
    /// </summary>
    private protected void PredictData(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, LatentShape shape,
                                       Span<float> result)
    {
        var (alpha, sigmaT) = VpSigmaMath.AlphaSigma(sigma);
        switch (PredictionType)
        {
            case CommonOptions.Epsilon:
                for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * modelOutput[k]) / alpha;
                break;
            case CommonOptions.Sample:
                modelOutput.CopyTo(result);
                break;
            default:
                for (int k = 0; k < result.Length; k++) result[k] = alpha * sample[k] - sigmaT * modelOutput[k];
                break;
        }
        Thresholding?.Apply(result, shape);
    }

    /// <summary>
    /// <c>convert_model_output</c> for the solvers that integrate the noise prediction: ε from the model output at
    /// <paramref name="sigma"/> (epsilon: the output; sample: (x − α_t·x̂₀)/σ_t; v: α_t·v + σ_t·x), not thresholded.
    /// <paramref name="modelOutput"/> may be <paramref name="result"/> itself.
    /// </summary>
    private protected void PredictNoise(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, Span<float> result)
    {
        var (alpha, sigmaT) = VpSigmaMath.AlphaSigma(sigma);
        switch (PredictionType)
        {
            case CommonOptions.Epsilon:
                modelOutput.CopyTo(result);
                break;
            case CommonOptions.Sample:
                for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - alpha * modelOutput[k]) / sigmaT;
                break;
            default:
                for (int k = 0; k < result.Length; k++) result[k] = alpha * modelOutput[k] + sigmaT * sample[k];
                break;
        }
    }

    /// <summary>Declared-but-unimplemented flags must stay false (never silently ignored).</summary>
    private void RejectUnsupported(SchedulerOptions options, params string[] flags)
    {
        foreach (var flag in flags)
            if (options.IsDeclared(flag) && options.GetBool(flag))
                throw new NotSupportedException($"{Name}: option '{flag}' = true is not supported by this implementation.");
    }

    /// <summary>
    /// The options every VP solver class declares: noise schedule, solver order, prediction type, thresholding, sigma
    /// spacing flags, <c>lower_order_final</c> and, for the classes that have them, <c>timestep_spacing</c> ('linspace')
    /// and <c>steps_offset</c> (0). Defaults of diffusers 0.35.2.
    /// </summary>
    internal static SchedulerOptionSet BaseOptions(bool lowerOrderFinal = true, bool timestepSpacing = true)
    {
        var options = new SchedulerOptionSet(CommonOptions.NoiseSchedule())
            .Add(SchedulerOption.Integer("solver_order", 2))
            .Add(CommonOptions.PredictionType())
            .Add(CommonOptions.Thresholding())
            .Add(SigmaRamp.Options())
            .Add(SchedulerOption.Boolean("use_flow_sigmas", false))
            .Add(SchedulerOption.Number("flow_shift", 1.0))
            .Add(SchedulerOption.Boolean("use_dynamic_shifting", false))
            .Add(SchedulerOption.Choice("time_shift_type", "exponential", "exponential"))
            .Add(SchedulerOption.Boolean("lower_order_final", lowerOrderFinal));
        if (timestepSpacing)
            options.Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace)).Add(CommonOptions.StepsOffset(0));
        return options;
    }

    /// <summary>
    /// The sigma spacing from the <c>use_*_sigmas</c> flags (at most one of Karras / exponential / beta, as diffusers
    /// checks; beta was already refused) and <c>use_lu_lambdas</c>, which Karras overrides.
    /// </summary>
    private static DpmSigmaSpacing ReadSigmaSpacing(SchedulerOptions options, string scheduler)
    {
        var ramp = SigmaRamp.FromOptions(options, scheduler);
        if (ramp == SigmaRampKind.Karras) return DpmSigmaSpacing.Karras;
        if (options.IsDeclared("use_lu_lambdas") && options.GetBool("use_lu_lambdas")) return DpmSigmaSpacing.LuLambdas;
        return ramp == SigmaRampKind.Exponential ? DpmSigmaSpacing.Exponential : DpmSigmaSpacing.Interpolated;
    }
}
