namespace StableDiffusion.Schedulers;

/// <summary>
/// Base of the schedulers that step on ᾱ_t at integer timesteps (DDPM, DDIM, PNDM, LCM): no input scaling, initial
/// noise of std 1, integer timesteps by <c>timestep_spacing</c>, and ᾱ past the last timestep from <c>set_alpha_to_one</c>.
/// </summary>
public abstract class AlphaSchedulerBase : SchedulerBase
{
    private readonly float _finalAlphaCumprod;

    protected AlphaSchedulerBase(SchedulerOptions options) : base(options)
    {
        // ᾱ "before" t = 0: 1 with set_alpha_to_one, else ᾱ_0; DDPM, which lacks the key, always uses 1.
        _finalAlphaCumprod = !options.IsDeclared("set_alpha_to_one") || options.GetBool("set_alpha_to_one")
            ? 1f : NoiseSchedule.AlphasCumprod[0];
    }

    /// <summary>
    /// The options every ᾱ-space class declares: the noise schedule, <c>prediction_type</c> (epsilon by default,
    /// <paramref name="predictionTypes"/> allowed; all three when none are given), <c>timestep_spacing</c> ('leading')
    /// and <c>steps_offset</c> (0). Defaults of diffusers 0.35.2.
    /// </summary>
    internal static SchedulerOptionSet BaseOptions(double betaStart = 0.0001, double betaEnd = 0.02, string betaSchedule = NoiseSchedule.Linear,
                                                   bool allowSigmoid = false, params string[] predictionTypes) =>
        new SchedulerOptionSet(CommonOptions.NoiseSchedule(betaStart, betaEnd, betaSchedule, allowSigmoid))
            .Add(CommonOptions.PredictionType(CommonOptions.Epsilon, predictionTypes))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Leading))
            .Add(CommonOptions.StepsOffset(0));

    public override float InitNoiseSigma => 1f;

    /// <summary>These schedulers do not scale the model input.</summary>
    public override void ScaleModelInput(Span<float> sample, double timestep) => EnsureTimestepsSet();

    /// <summary>
    /// <c>add_noise</c>'s (sqrt(ᾱ_t), sqrt(1 − ᾱ_t)) in float32 (torch's <c>** 0.5</c> of a float32 tensor is its
    /// correctly rounded sqrt), at any training timestep t: the begin and step indices play no part, and
    /// <see cref="SchedulerBase.SetTimesteps"/> is not needed.
    /// </summary>
    protected sealed override (float Signal, float Noise) NoiseCoefficients(double timestep)
    {
        if (timestep < 0 || timestep >= NoiseSchedule.TrainTimesteps || timestep != Math.Floor(timestep))
            throw new ArgumentOutOfRangeException("timesteps", timestep,
                $"{Name}: add_noise needs integral timesteps from 0 to {NoiseSchedule.TrainTimesteps - 1}.");
        float alphaProd = NoiseSchedule.AlphasCumprod[(int)timestep];
        return (MathF.Sqrt(alphaProd), MathF.Sqrt(1f - alphaProd));
    }

    /// <summary>ᾱ_t, or for t &lt; 0 (the step past the last timestep) the final ᾱ of <c>set_alpha_to_one</c>.</summary>
    protected float AlphaCumprod(long t) => t >= 0 ? NoiseSchedule.AlphasCumprod[t] : _finalAlphaCumprod;

    /// <summary>ᾱ is indexed with each timestep: a step count that leads past the table is refused by SetTimesteps.</summary>
    protected sealed override bool TimestepsIndexTrainingSchedule => true;

    /// <summary>The usual <c>set_timesteps</c>: <see cref="IntegerTimesteps"/>.</summary>
    protected override void OnSetTimesteps(int inferenceSteps) => SetTimestepValues(IntegerTimesteps(inferenceSteps));

    /// <summary>The descending integer timesteps of <c>timestep_spacing</c>, after checking the step count.</summary>
    protected double[] IntegerTimesteps(int steps)
    {
        TimestepSpacing.ValidateSteps(steps, NoiseSchedule.TrainTimesteps);
        return TimestepSpacing.IntegerTimesteps(Spacing, NoiseSchedule.TrainTimesteps, steps, StepsOffset);
    }

    /// <summary>
    /// The variance of the posterior q(x_prev | x_t, x₀), formula (7) of the DDPM paper, in float32 as diffusers'
    /// <c>_get_variance</c>: (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev).
    /// </summary>
    protected static float PosteriorVariance(float alphaProdT, float alphaProdTPrev) =>
        (1f - alphaProdTPrev) / (1f - alphaProdT) * (1f - alphaProdT / alphaProdTPrev);
}
