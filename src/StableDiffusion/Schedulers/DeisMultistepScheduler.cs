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
        VpSolverScheduler.BaseOptions()
            .Add(SchedulerOption.Choice("algorithm_type", "deis", "deis", "dpmsolver", "dpmsolver++"))
            .Add(SchedulerOption.Choice("solver_type", "logrho", "logrho", "midpoint", "heun", "bh1", "bh2"))
            .Add(SchedulerOption.Boolean("lower_order_final", true))
            .Add(CommonOptions.TimestepSpacing(TimestepSpacing.Linspace))
            .Add(CommonOptions.StepsOffset(0)),
        options => new DeisMultistepScheduler(options),
        new SchedulerAlias("DEIS"));

    private readonly int _solverOrder;
    private readonly string _predictionType;
    private readonly bool _lowerOrderFinal;
    private readonly string _spacing;
    private readonly int _stepsOffset;
    private readonly DpmSigmaSpacing _sigmaSpacing;
    private readonly DynamicThresholding? _thresholding;
    private readonly ModelOutputHistory _history;
    private int _lowerOrderNums;

    public DeisMultistepScheduler(SchedulerOptions options) : base(options)
    {
        // diffusers maps the DPM-Solver algorithm and solver types onto log-rho DEIS.
        _solverOrder = options.GetInt("solver_order");
        if (_solverOrder is < 1 or > 3)
            throw new ArgumentOutOfRangeException("solver_order", _solverOrder, $"{ClassName}: solver_order must be 1, 2 or 3.");
        _predictionType = options.GetString("prediction_type");
        _lowerOrderFinal = options.GetBool("lower_order_final");
        _spacing = options.GetString("timestep_spacing");
        _stepsOffset = options.GetInt("steps_offset");
        _sigmaSpacing = ReadSigmaSpacing(options, ClassName);
        _thresholding = ReadThresholding(options);
        _history = new ModelOutputHistory(_solverOrder);
    }

    public override string Name => ClassName;

    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(NoiseSchedule, inferenceSteps, _spacing, _stepsOffset, double.NegativeInfinity,
            _sigmaSpacing, roundConvertedTimesteps: true,
            _sigmaSpacing == DpmSigmaSpacing.Interpolated ? DpmFinalSigma.TrainingMin : DpmFinalSigma.LastConverted);

    protected override void ResetState(int inferenceSteps)
    {
        _history.Clear();
        _lowerOrderNums = 0;
    }

    protected override void StepCore(int i, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        int n = StepCount;
        bool small = _lowerOrderFinal && n < 15;
        bool lowerOrderFinal = i == n - 1 && small;
        bool lowerOrderSecond = i == n - 2 && small;
        var sigmas = SigmaValues;

        ConvertModelOutput(modelOutput, sample, sigmas[i], shape, _history.Push(shape.Length));

        if (_solverOrder == 1 || _lowerOrderNums < 1 || lowerOrderFinal)
            DpmSolverUpdates.FirstOrder(DpmAlgorithm.DpmSolver, sigmas[i + 1], sigmas[i], _history[0], sample, default);
        else if (_solverOrder == 2 || _lowerOrderNums < 2 || lowerOrderSecond)
            SecondOrder(sigmas[i + 1], sigmas[i], sigmas[i - 1], sample);
        else
            ThirdOrder(sigmas[i + 1], sigmas[i], sigmas[i - 1], sigmas[i - 2], sample);

        if (_lowerOrderNums < _solverOrder) _lowerOrderNums++;
    }

    /// <summary>diffusers' DEIS <c>convert_model_output</c>: x0 from the prediction (thresholded if asked), then back to epsilon.</summary>
    private void ConvertModelOutput(ReadOnlySpan<float> modelOutput, ReadOnlySpan<float> sample, float sigma, LatentShape shape,
                                    Span<float> result)
    {
        var (alpha, sigmaT) = AlphaSigma(sigma);
        switch (_predictionType)
        {
            case "epsilon":
                for (int k = 0; k < result.Length; k++) result[k] = (sample[k] - sigmaT * modelOutput[k]) / alpha;
                break;
            case "sample":
                modelOutput.CopyTo(result);
                break;
            default:
                for (int k = 0; k < result.Length; k++) result[k] = alpha * sample[k] - sigmaT * modelOutput[k];
                break;
        }
        _thresholding?.Apply(result, shape);
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
        var m0 = _history[0];
        var m1 = _history[1];
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
        var m0 = _history[0];
        var m1 = _history[1];
        var m2 = _history[2];
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
