using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Common frame of diffusers' exponential-integrator solvers in sigma space (DPM-Solver multistep/singlestep,
/// DEIS, UniPC): no input scaling, <c>init_noise_sigma</c> 1, integer timesteps with float32 sigmas, a step index
/// found from the first timestep given to <see cref="Step"/> and advanced by one per call.
/// </summary>
public abstract class VpSolverScheduler : IScheduler
{
    private long[] _timestepValues = [];
    private double[] _timesteps = [];
    private float[]? _sigmas;
    private float[] _noise = [];

    protected VpSolverScheduler(SchedulerConfig config, bool supportsZeroSnrRescale)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        AlphasCumprod = TrainingSchedule.AlphasCumprod(config, supportsZeroSnrRescale);
    }

    public abstract string Name { get; }
    public SchedulerConfig Config { get; protected set; }
    public int Order => 1;
    public float InitNoiseSigma => 1f;
    public IReadOnlyList<double> Timesteps => _timesteps;
    public IReadOnlyList<float>? Sigmas => _sigmas;

    /// <summary>float32 cumulative product of the training alphas.</summary>
    internal float[] AlphasCumprod { get; }

    /// <summary>The float32 sigmas of the current run, one more than the timesteps.</summary>
    protected float[] SigmaValues => _sigmas ?? throw NotPrepared();

    /// <summary>Index of the current step in <see cref="Timesteps"/> (diffusers' <c>step_index</c>), −1 before the first step.</summary>
    protected int StepIndex { get; private set; } = -1;

    /// <summary>Number of timesteps of the current run.</summary>
    protected int StepCount => _timesteps.Length;

    public void SetTimesteps(int inferenceSteps)
    {
        if (inferenceSteps < 1)
            throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps, "The number of inference steps must be at least 1.");
        var schedule = BuildSchedule(inferenceSteps);
        _timestepValues = schedule.Timesteps;
        _timesteps = Array.ConvertAll(schedule.Timesteps, t => (double)t);
        _sigmas = schedule.Sigmas;
        StepIndex = -1;
        ResetState(inferenceSteps);
    }

    /// <summary>The DPM family does not scale the model input.</summary>
    public void ScaleModelInput(Span<float> sample, double timestep) { }

    public void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                     IReadOnlyList<IRandomGenerator>? generators = null)
    {
        if (_sigmas is null) throw NotPrepared();
        if (sample.Length != shape.Length)
            throw new ArgumentException($"The sample holds {sample.Length} values but the shape {shape} needs {shape.Length}.", nameof(sample));
        if (modelOutput.Length != ExpectedModelOutputLength(shape))
            throw new ArgumentException(
                $"The model output holds {modelOutput.Length} values; {Name} expects {ExpectedModelOutputLength(shape)} for the shape {shape}.",
                nameof(modelOutput));
        if (StepIndex < 0) StepIndex = IndexForTimestep(timestep);
        if (StepIndex >= _timesteps.Length)
            throw new InvalidOperationException($"{Name} has already run all {_timesteps.Length} steps; call SetTimesteps to start again.");
        StepCore(modelOutput, sample, shape, generators);
        StepIndex++;
    }

    /// <summary>Computes this run's timesteps and sigmas (diffusers' <c>set_timesteps</c>).</summary>
    private protected abstract DpmSolverSchedule.Result BuildSchedule(int inferenceSteps);

    /// <summary>Clears the solver state for a new run (model outputs, lower-order counters…).</summary>
    protected abstract void ResetState(int inferenceSteps);

    /// <summary>One step at <see cref="StepIndex"/>: replaces <paramref name="sample"/> with the previous sample.</summary>
    protected abstract void StepCore(ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators);

    /// <summary>Length of the model output for a sample of <paramref name="shape"/> (larger when variance channels are appended).</summary>
    protected virtual int ExpectedModelOutputLength(LatentShape shape) => shape.Length;

    /// <summary>
    /// diffusers' <c>index_for_timestep</c>: the position of <paramref name="timestep"/> in the schedule; with
    /// duplicates the second one (so that a run started mid-schedule does not skip a sigma); the last if absent.
    /// </summary>
    private int IndexForTimestep(double timestep)
    {
        int first = -1;
        for (int i = 0; i < _timestepValues.Length; i++)
        {
            if (_timestepValues[i] != timestep) continue;
            if (first >= 0) return i;
            first = i;
        }
        return first >= 0 ? first : _timestepValues.Length - 1;
    }

    /// <summary>
    /// Returns a reused buffer filled with a standard normal draw like diffusers' <c>randn_tensor</c>: one [1, C, H, W]
    /// draw per image from that image's generator, or a single draw of the whole batch when one generator is given.
    /// </summary>
    protected Span<float> DrawNoise(IReadOnlyList<IRandomGenerator>? generators, LatentShape shape)
    {
        if (generators is null || generators.Count == 0)
            throw new ArgumentException(
                $"{Name} with a stochastic algorithm draws fresh noise in every step: pass one generator per image.", nameof(generators));
        if (_noise.Length != shape.Length) _noise = new float[shape.Length];
        var noise = _noise.AsSpan();
        if (generators.Count == shape.Batch)
        {
            for (int b = 0; b < shape.Batch; b++)
                generators[b].Randn(noise.Slice(b * shape.ImageLength, shape.ImageLength));
        }
        else if (generators.Count == 1)
        {
            generators[0].Randn(noise);
        }
        else
        {
            throw new ArgumentException(
                $"{generators.Count} generators were given for a batch of {shape.Batch}; pass one per image (or a single one).",
                nameof(generators));
        }
        return noise;
    }

    private InvalidOperationException NotPrepared() =>
        new($"{Name}: call SetTimesteps before Step.");

    /// <summary>Reads a string option and checks it against the allowed values.</summary>
    protected static string ReadChoice(SchedulerConfig config, string key, string defaultValue, params string[] allowed)
    {
        string value = config.GetString(key, defaultValue) ?? defaultValue;
        if (Array.IndexOf(allowed, value) < 0)
            throw new ArgumentException($"Scheduler option '{key}' is '{value}'; it must be one of: {string.Join(", ", allowed)}.", nameof(config));
        return value;
    }

    /// <summary>Rejects options this implementation does not have (rather than silently ignoring them).</summary>
    protected static void RejectUnsupported(SchedulerConfig config, string scheduler, params string[] flags)
    {
        foreach (var flag in flags)
            if (config.GetBool(flag, false))
                throw new NotSupportedException($"{scheduler}: option '{flag}' = true is not supported by this implementation.");
    }
}
