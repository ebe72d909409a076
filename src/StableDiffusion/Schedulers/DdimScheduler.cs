using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DDIMScheduler</c> (Song et al. 2020): the non-Markovian DDIM update with optional noise (η),
/// clipping or dynamic thresholding of x̂₀, and epsilon / sample / v-prediction. Deterministic when η = 0
/// (<see cref="Step"/>'s <c>eta</c>, which only this class reads).
/// </summary>
public sealed class DdimScheduler : AlphaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "DDIMScheduler", order: 1, stochastic: false,
        "Deterministic and invertible; the standard for v-prediction / zero-SNR models and for img2img inversion. 25–50 steps.",
        BaseOptions()
            .Add(OriginalSamplePredictor.Options(clipSample: true))
            .Add(CommonOptions.SetAlphaToOne(true))
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new DdimScheduler(options),
        new SchedulerAlias("DDIM"));

    private readonly OriginalSamplePredictor _predictor;
    private float[]? _eps;

    public DdimScheduler(SchedulerOptions options) : base(options)
    {
        _predictor = new OriginalSamplePredictor(options, Name);
    }

    public override string Name => "DDIMScheduler";

    /// <summary>diffusers' <c>use_clipped_model_output</c> argument of <c>step()</c>.</summary>
    public bool UseClippedModelOutput { get; set; }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        EnsureTimestepsSet();
        CheckShapes(modelOutput, sample, shape);
        int n = sample.Length;
        long t = (long)timestep;
        long prevT = t - NoiseSchedule.TrainTimesteps / InferenceSteps!.Value;
        float alphaProdT = AlphaCumprod(t);
        float alphaProdTPrev = AlphaCumprod(prevT);
        float sqrtAlpha = MathF.Sqrt(alphaProdT), sqrtBeta = MathF.Sqrt(1f - alphaProdT);

        // pred_epsilon comes from the unclipped prediction.
        var eps = Rent(ref _eps, n);
        switch (_predictor.PredictionType)
        {
            case CommonOptions.Epsilon:
                modelOutput.CopyTo(eps);
                break;
            case CommonOptions.Sample:
                for (int i = 0; i < n; i++) eps[i] = (sample[i] - sqrtAlpha * modelOutput[i]) / sqrtBeta;
                break;
            case CommonOptions.VPrediction:
                for (int i = 0; i < n; i++) eps[i] = sqrtAlpha * modelOutput[i] + sqrtBeta * sample[i];
                break;
        }
        var x0 = _predictor.Predict(modelOutput, sample, alphaProdT, shape);

        // σ_t = η·sqrt((1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)), all float32 0-dim tensor arithmetic in diffusers.
        float stdDevT = (float)eta * MathF.Sqrt(PosteriorVariance(alphaProdT, alphaProdTPrev));

        if (UseClippedModelOutput)
            for (int i = 0; i < n; i++) eps[i] = (sample[i] - sqrtAlpha * x0[i]) / sqrtBeta;

        float directionCoeff = MathF.Sqrt(1f - alphaProdTPrev - stdDevT * stdDevT);
        float sqrtAlphaPrev = MathF.Sqrt(alphaProdTPrev);
        for (int i = 0; i < n; i++) sample[i] = sqrtAlphaPrev * x0[i] + directionCoeff * eps[i];

        if (eta > 0)
        {
            var noise = DrawNoise(generators, shape);
            for (int i = 0; i < n; i++) sample[i] = sample[i] + stdDevT * noise[i];
        }
    }
}
