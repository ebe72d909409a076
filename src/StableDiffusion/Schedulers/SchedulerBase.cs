using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Common plumbing of the diffusers schedulers: resolved options, the noise schedule, the timestep list and
/// diffusers' step-index bookkeeping (<c>_init_step_index</c> / <c>index_for_timestep</c>), reusable work buffers
/// so that <see cref="Step"/> does not allocate after the first call for a shape.
/// </summary>
public abstract class SchedulerBase : IScheduler
{
    private double[] _timesteps = [];
    private int? _stepIndex;
    private float[]? _noise;

    protected SchedulerBase(SchedulerOptions options)
    {
        Options = options;
        NoiseSchedule = NoiseSchedule.FromOptions(options);
        Spacing = options.IsDeclared("timestep_spacing") ? options.GetString("timestep_spacing") : TimestepSpacing.Linspace;
        StepsOffset = options.IsDeclared("steps_offset") ? options.GetInt("steps_offset") : 0;
    }

    /// <summary>The resolved options (config value or class default for every declared key).</summary>
    protected SchedulerOptions Options { get; }

    /// <summary>The training noise schedule (betas, ᾱ) from the class's noise-schedule options.</summary>
    public NoiseSchedule NoiseSchedule { get; }

    /// <summary><c>timestep_spacing</c> ('linspace' for a class without the key).</summary>
    protected string Spacing { get; }

    /// <summary><c>steps_offset</c> (0 for a class without the key).</summary>
    protected int StepsOffset { get; }

    public abstract string Name { get; }
    public SchedulerConfig Config => Options.Effective;
    public virtual int Order => 1;
    public abstract float InitNoiseSigma { get; }

    /// <summary>Number of inference steps of the last <see cref="SetTimesteps"/>, or null before it.</summary>
    public int? InferenceSteps { get; private set; }

    public IReadOnlyList<double> Timesteps => _timesteps;
    public virtual IReadOnlyList<float>? Sigmas => null;

    /// <summary>diffusers' <c>step_index</c>: the position in <see cref="Timesteps"/> of the next step, once started.</summary>
    public int? StepIndex => _stepIndex;

    /// <summary>diffusers' <c>begin_index</c> (set by img2img pipelines before the first step), or null.</summary>
    public int? BeginIndex { get; private set; }

    /// <summary>diffusers' <c>set_begin_index</c>: the first step starts at this index instead of being looked up (see <see cref="IScheduler.SetBeginIndex"/>).</summary>
    public void SetBeginIndex(int beginIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(beginIndex);
        BeginIndex = beginIndex;
    }

    /// <exception cref="InvalidSettingException">
    /// The step count gives a timestep outside the training schedule (0 … num_train_timesteps − 1) with this
    /// configuration, e.g. 1000 steps with 'leading' spacing and steps_offset 1, where diffusers fails with an IndexError;
    /// the message names the largest step count that works.
    /// </exception>
    public void SetTimesteps(int inferenceSteps)
    {
        TimestepSpacing.ValidateSteps(inferenceSteps, NoiseSchedule.TrainTimesteps);
        OnSetTimesteps(inferenceSteps);
        if (!TimestepsInSchedule())
        {
            int max = inferenceSteps - 1;
            while (max > 1 && !Fits(max)) max--;
            _timesteps = [];
            InferenceSteps = null;
            throw new InvalidSettingException("Steps", "StepsOutOfRange", inferenceSteps,
                $"Steps {inferenceSteps} is more than {Name} supports with this model's configuration (timestep_spacing '{Spacing}', " +
                $"steps_offset {StepsOffset}, {NoiseSchedule.TrainTimesteps} training timesteps): it would step past the last training timestep. " +
                $"Use at most {max} steps.");
        }
        InferenceSteps = inferenceSteps;
        _stepIndex = null;
        BeginIndex = null;
    }

    /// <summary>Whether <paramref name="steps"/> steps keep every timestep inside the training schedule.</summary>
    private bool Fits(int steps)
    {
        try
        {
            OnSetTimesteps(steps);
            return TimestepsInSchedule();
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the timesteps index the training ᾱ table (DDIM, DDPM, PNDM, LCM), so each must lie inside it. The sigma-space
    /// classes interpolate timesteps (numpy's <c>interp</c> clamps), so any value runs there as it does in diffusers.
    /// </summary>
    protected virtual bool TimestepsIndexTrainingSchedule => false;

    /// <summary>Whether every timestep of the run can be used: for indexing classes, inside 0 … num_train_timesteps − 1.</summary>
    private bool TimestepsInSchedule()
    {
        if (!TimestepsIndexTrainingSchedule) return true;
        foreach (double t in _timesteps)
            if (!(t >= 0 && t <= NoiseSchedule.TrainTimesteps - 1)) return false;
        return true;
    }

    /// <summary>Computes the timesteps (call <see cref="SetTimestepValues"/>) and resets solver state.</summary>
    protected abstract void OnSetTimesteps(int inferenceSteps);

    protected void SetTimestepValues(double[] timesteps) => _timesteps = timesteps;

    /// <summary>The timestep array itself (no copy) for derived classes.</summary>
    protected ReadOnlySpan<double> TimestepSpan => _timesteps;

    public abstract void ScaleModelInput(Span<float> sample, double timestep);

    public abstract void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0);

    /// <summary>
    /// diffusers' <c>add_noise</c> (see <see cref="IScheduler.AddNoise"/>): per batch row, <c>a·x₀ + b·noise</c> in float32
    /// with (a, b) from <see cref="NoiseCoefficients"/>. With a = 1 this is bit for bit torch's <c>x₀ + noise·σ</c>.
    /// </summary>
    public void AddNoise(ReadOnlySpan<float> originalSamples, ReadOnlySpan<float> noise, ReadOnlySpan<double> timesteps, Span<float> destination)
    {
        if (noise.Length != originalSamples.Length || destination.Length != originalSamples.Length)
            throw new ArgumentException(
                $"{Name}: add_noise needs samples, noise and destination of one length; they have {originalSamples.Length}, {noise.Length} and {destination.Length}.",
                nameof(destination));
        if (timesteps.IsEmpty || originalSamples.Length % timesteps.Length != 0)
            throw new ArgumentException(
                $"{Name}: add_noise needs one timestep per batch row; {timesteps.Length} timesteps do not divide {originalSamples.Length} elements.",
                nameof(timesteps));
        if ((destination.Overlaps(originalSamples, out int a) && a != 0) || (destination.Overlaps(noise, out int b) && b != 0))
            throw new ArgumentException($"{Name}: add_noise's destination may be one of its inputs but must not partially overlap them.", nameof(destination));
        int row = originalSamples.Length / timesteps.Length;
        for (int r = 0; r < timesteps.Length; r++)
        {
            var (signal, noiseScale) = NoiseCoefficients(timesteps[r]);
            var x0 = originalSamples.Slice(r * row, row);
            var n = noise.Slice(r * row, row);
            var result = destination.Slice(r * row, row);
            for (int i = 0; i < result.Length; i++) result[i] = signal * x0[i] + noiseScale * n[i];
        }
    }

    /// <summary>The float32 factors (of x₀, of the noise) by which <see cref="AddNoise"/> noises a row to <paramref name="timestep"/>.</summary>
    protected abstract (float Signal, float Noise) NoiseCoefficients(double timestep);

    /// <summary>
    /// The sigma of <c>add_noise</c> for the classes that noise in sigma space: <see cref="Sigmas"/> at diffusers' index
    /// rule: the timestep's index without a begin index, else the step index once stepping has started, else the begin index.
    /// </summary>
    protected float NoiseSigma(double timestep)
    {
        EnsureTimestepsSet();
        int index = BeginIndex is null ? IndexForTimestep(timestep) : _stepIndex ?? BeginIndex.Value;
        var sigmas = Sigmas ?? throw new InvalidOperationException($"{Name} has no sigmas.");
        if (index >= sigmas.Count)
            throw new InvalidOperationException($"{Name}: index {index} is past the {sigmas.Count} sigmas of the run (begin index {BeginIndex}).");
        return sigmas[index];
    }

    /// <summary>Throws unless <see cref="SetTimesteps"/> ran.</summary>
    protected void EnsureTimestepsSet()
    {
        if (InferenceSteps is null)
            throw new InvalidOperationException($"{Name}: call SetTimesteps before ScaleModelInput or Step.");
    }

    /// <summary>
    /// diffusers' <c>index_for_timestep</c>: <see cref="FindTimestep"/>, throwing for a timestep that is not in the
    /// schedule (torch's IndexError); the VP solvers override it with their fallback.
    /// </summary>
    protected virtual int IndexForTimestep(double timestep) =>
        FindTimestep(timestep) ?? throw new ArgumentException($"{Name}: timestep {timestep} is not in the schedule set by SetTimesteps.", nameof(timestep));

    /// <summary>
    /// The index of <paramref name="timestep"/> in the schedule (<c>(schedule_timesteps == timestep).nonzero()</c>);
    /// when it occurs more than once (Heun/KDPM2 repeat timesteps) the second occurrence, so that img2img starting
    /// mid-schedule does not skip a sigma; null when absent.
    /// </summary>
    protected int? FindTimestep(double timestep)
    {
        int first = -1;
        for (int i = 0; i < _timesteps.Length; i++)
        {
            if (_timesteps[i] != timestep) continue;
            if (first >= 0) return i;
            first = i;
        }
        return first < 0 ? null : first;
    }

    /// <summary>diffusers' <c>_init_step_index</c> on first use, then the current step index.</summary>
    protected int CurrentStepIndex(double timestep)
    {
        EnsureTimestepsSet();
        _stepIndex ??= BeginIndex ?? IndexForTimestep(timestep);
        return _stepIndex.Value;
    }

    /// <summary>Advances the step index after a step (diffusers' <c>self._step_index += 1</c>).</summary>
    protected void AdvanceStepIndex() => _stepIndex = (_stepIndex ?? 0) + 1;

    /// <summary>Checks that the buffers agree with the latent shape.</summary>
    protected void CheckShapes(ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape)
    {
        if (sample.Length != shape.Length)
            throw new ArgumentException($"{Name}: sample has {sample.Length} elements but the shape {shape} needs {shape.Length}.", nameof(sample));
        int expected = ExpectedModelOutputLength(shape);
        if (modelOutput.Length != expected)
            throw new ArgumentException($"{Name}: model output has {modelOutput.Length} elements; {expected} expected for {shape}.", nameof(modelOutput));
    }

    /// <summary>Length of the model output for a sample of <paramref name="shape"/> (larger when variance channels follow).</summary>
    protected virtual int ExpectedModelOutputLength(LatentShape shape) => shape.Length;

    /// <summary>A reused buffer with fresh step noise drawn as diffusers' <c>randn_tensor</c> does (one generator per image).</summary>
    protected ReadOnlySpan<float> DrawNoise(IReadOnlyList<IRandomGenerator>? generators, LatentShape shape)
    {
        var noise = Rent(ref _noise, shape.Length);
        NoiseSampler.Fill(noise, shape, generators, Name);
        return noise;
    }

    /// <summary>Returns <paramref name="buffer"/> resized (allocating only when the length changes).</summary>
    protected internal static float[] Rent(ref float[]? buffer, int length)
    {
        if (buffer is null || buffer.Length != length) buffer = new float[length];
        return buffer;
    }
}
