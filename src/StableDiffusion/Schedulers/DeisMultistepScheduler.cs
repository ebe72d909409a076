using StableDiffusion.Random;
using static StableDiffusion.Schedulers.VpSigmaMath;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DEISMultistepScheduler</c> (0.35.2): the log-rho multistep DEIS of order 1–3 (Zhang &amp; Chen),
/// integrating the noise prediction in rho = sigma/alpha, in sigma space. The last sigma is always the training
/// sigma_min (or the last converted sigma with Karras / exponential spacing).
/// </summary>
public sealed class DeisMultistepScheduler : VpSolverScheduler
{
    public const string ClassName = "DEISMultistepScheduler";

    public static readonly SchedulerRegistration Registration = new(
        ClassName, order: 1, stochastic: false,
        "DEIS (log-rho multistep): deterministic, close to DPM++ 2M; good in 10–20 steps.",
        BaseOptions()
            .Add(SchedulerOption.Choice("algorithm_type", "deis", "deis", "dpmsolver", "dpmsolver++"))
            .Add(SchedulerOption.Choice("solver_type", "logrho", "logrho", "midpoint", "heun", "bh1", "bh2")),
        options => new DeisMultistepScheduler(options),
        new SchedulerAlias("DEIS"));

    private int _lowerOrderNums;

    public DeisMultistepScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => ClassName;

    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(NoiseSchedule, inferenceSteps, Spacing, StepsOffset, double.NegativeInfinity,
            SigmaSpacing, roundConvertedTimesteps: true,
            SigmaSpacing == DpmSigmaSpacing.Interpolated ? DpmFinalSigma.TrainingMin : DpmFinalSigma.LastConverted);

    protected override void ResetState(int inferenceSteps) => _lowerOrderNums = 0;

    protected override void StepCore(int i, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        int n = StepCount;
        bool small = LowerOrderFinal && n < 15;
        bool lowerOrderFinal = i == n - 1 && small;
        bool lowerOrderSecond = i == n - 2 && small;
        var sigmas = SigmaValues;

        ConvertModelOutput(modelOutput, sample, sigmas[i], shape, History.Push(shape.Length));

        if (SolverOrder == 1 || _lowerOrderNums < 1 || lowerOrderFinal)
            DpmSolverUpdates.FirstOrder(DpmAlgorithm.DpmSolver, sigmas[i + 1], sigmas[i], History[0], sample, default);
        else if (SolverOrder == 2 || _lowerOrderNums < 2 || lowerOrderSecond)
            SecondOrder(sigmas[i + 1], sigmas[i], sigmas[i - 1], sample);
        else
            ThirdOrder(sigmas[i + 1], sigmas[i], sigmas[i - 1], sigmas[i - 2], sample);

        if (_lowerOrderNums < SolverOrder) _lowerOrderNums++;
    }

    /// <summary>diffusers' DEIS <c>convert_model_output</c>: x0 from the prediction (thresholded if asked), then back to epsilon.</summary>
    private void ConvertModelOutput(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, LatentShape shape,
                                    Span<float> result)
    {
        PredictData(modelOutput, sample, sigma, shape, result);
        var (alpha, sigmaT) = AlphaSigma(sigma);
        for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - alpha * result[k]) / sigmaT;
    }

    private void SecondOrder(float sigmaT, float sigmaS0, float sigmaS1, Span<float> x)
    {
        var (alphaT, sT) = AlphaSigma(sigmaT);
        var (alphaS0, sS0) = AlphaSigma(sigmaS0);
        var (alphaS1, sS1) = AlphaSigma(sigmaS1);
        float rhoT = sT / alphaT, rhoS0 = sS0 / alphaS0, rhoS1 = sS1 / alphaS1;
        float coef1 = Integral2(rhoT, rhoS0, rhoS1) - Integral2(rhoS0, rhoS0, rhoS1);
        float coef2 = Integral2(rhoT, rhoS1, rhoS0) - Integral2(rhoS0, rhoS1, rhoS0);
        var m0 = History[0];
        var m1 = History[1];
        for (int k = 0; k < x.Length; k++)
            x[k] = alphaT * (x[k] / alphaS0 + coef1 * m0[k] + coef2 * m1[k]);
    }

    private void ThirdOrder(float sigmaT, float sigmaS0, float sigmaS1, float sigmaS2, Span<float> x)
    {
        var (alphaT, sT) = AlphaSigma(sigmaT);
        var (alphaS0, sS0) = AlphaSigma(sigmaS0);
        var (alphaS1, sS1) = AlphaSigma(sigmaS1);
        var (alphaS2, sS2) = AlphaSigma(sigmaS2);
        float rhoT = sT / alphaT, rhoS0 = sS0 / alphaS0, rhoS1 = sS1 / alphaS1, rhoS2 = sS2 / alphaS2;
        float coef1 = Integral3(rhoT, rhoS0, rhoS1, rhoS2) - Integral3(rhoS0, rhoS0, rhoS1, rhoS2);
        float coef2 = Integral3(rhoT, rhoS1, rhoS2, rhoS0) - Integral3(rhoS0, rhoS1, rhoS2, rhoS0);
        float coef3 = Integral3(rhoT, rhoS2, rhoS0, rhoS1) - Integral3(rhoS0, rhoS2, rhoS0, rhoS1);
        var m0 = History[0];
        var m1 = History[1];
        var m2 = History[2];
        for (int k = 0; k < x.Length; k++)
            x[k] = alphaT * (x[k] / alphaS0 + coef1 * m0[k] + coef2 * m1[k] + coef3 * m2[k]);
    }

    // diffusers' ind_fn takes np.log of the 0-dim float32 tensors (numpy's float32 SIMD log), the rest is float32 torch.

    /// <summary>∫ (log t − log c)/(log b − log c) dt, float32 (diffusers' second-order <c>ind_fn</c>).</summary>
    private static float Integral2(float t, float b, float c) =>
        t * (-Log(c) + Log(t) - 1f) / (Log(b) - Log(c));

    private static float Log(float x) => NumpyMath.LogFloat32(x);

    /// <summary>∫ (log t − log c)(log t − log d)/((log b − log c)(log b − log d)) dt, float32 (third-order <c>ind_fn</c>).</summary>
    private static float Integral3(float t, float b, float c, float d)
    {
        float lt = Log(t), lb = Log(b), lc = Log(c), ld = Log(d);
        float numerator = t * (lc * (ld - lt + 1f) - ld * lt + ld + lt * lt - 2f * lt + 2f);
        float denominator = (lb - lc) * (lb - ld);
        return numerator / denominator;
    }
}
