using StableDiffusion.Random;
using static StableDiffusion.Schedulers.VpSigmaMath;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>UniPCMultistepScheduler</c> (0.35.2): the unified predictor–corrector solver (Zhao et al.) with the
/// B(h) variants bh1/bh2, data (<c>predict_x0</c>) or noise prediction, orders 1–3, optional per-step corrector
/// switch-off (<c>disable_corrector</c>). In each step the corrector first refines the sample the previous step
/// predicted, using the new model output; then the predictor moves to the next sigma.
/// </summary>
public sealed class UniPCMultistepScheduler : VpSolverScheduler
{
    public const string ClassName = "UniPCMultistepScheduler";

    public static readonly SchedulerRegistration Registration = new(
        ClassName, order: 1, stochastic: false,
        "UniPC: predictor-corrector, the strongest deterministic choice at very few steps (5–15).",
        BaseOptions()
            .Add(SchedulerOption.Boolean("predict_x0", true))
            .Add(SchedulerOption.Choice("solver_type", "bh2", "bh1", "bh2", "midpoint", "heun", "logrho"))
            .Add(SchedulerOption.IntegerArray("disable_corrector"))
            .Add(SchedulerOption.NullableChoice("solver_p", null))
            .Add(CommonOptions.FinalSigmasType())
            .Add(CommonOptions.RescaleBetasZeroSnr()),
        options => new UniPCMultistepScheduler(options),
        new SchedulerAlias("UniPC"));

    private readonly bool _predictX0;
    private readonly bool _bh2;
    private readonly HashSet<int> _disableCorrector;
    private readonly bool _finalSigmaZero;
    private float[]? _lastSample;
    private bool _hasLastSample;
    private int _lowerOrderNums;
    private int _thisOrder;

    // One more history slot than the order: the new output is stored before the corrector reads the previous ones.
    public UniPCMultistepScheduler(SchedulerOptions options) : base(options, extraHistorySlots: 1)
    {
        _predictX0 = options.GetBool("predict_x0");
        _bh2 = options.GetString("solver_type") != "bh1"; // diffusers maps the other families' types to bh2
        _disableCorrector = [.. options.GetIntArray("disable_corrector") ?? []];
        if (!options.IsNull("solver_p"))
            throw new NotSupportedException($"{ClassName}: solver_p (an external predictor scheduler) is not supported.");
        _finalSigmaZero = options.GetString("final_sigmas_type") == SigmaSchedule.FinalZero;
    }

    public override string Name => ClassName;

    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(NoiseSchedule, inferenceSteps, Spacing, StepsOffset, double.NegativeInfinity,
            SigmaSpacing, roundConvertedTimesteps: true,
            _finalSigmaZero ? DpmFinalSigma.Zero
                : SigmaSpacing == DpmSigmaSpacing.Interpolated ? DpmFinalSigma.TrainingMin : DpmFinalSigma.LastConverted);

    protected override void ResetState(int inferenceSteps)
    {
        _hasLastSample = false;
        _lowerOrderNums = 0;
        _thisOrder = 0;
    }

    protected override void StepCore(int i, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        var sigmas = SigmaValues;
        bool useCorrector = i > 0 && !_disableCorrector.Contains(i - 1) && _hasLastSample;

        // The conversion sees the uncorrected sample; after the push the previous outputs sit one slot further back.
        var converted = History.Push(shape.Length);
        if (_predictX0) PredictData(modelOutput, sample, sigmas[i], shape, converted);
        else PredictNoise(modelOutput, sample, sigmas[i], converted);
        if (useCorrector)
            Corrector(sigmas, i, _thisOrder, sample);

        int order = LowerOrderFinal ? Math.Min(SolverOrder, StepCount - i) : SolverOrder;
        _thisOrder = Math.Min(order, _lowerOrderNums + 1);

        sample.CopyTo(Rent(ref _lastSample, sample.Length));
        _hasLastSample = true;
        Predictor(sigmas, i, _thisOrder, sample);

        if (_lowerOrderNums < SolverOrder) _lowerOrderNums++;
    }

    /// <summary>
    /// What predictor and corrector share for the step from sigmas[<paramref name="from"/>] to the next sigma, with the
    /// older outputs at sigmas[from − k]: the ratios r_k = (lambda_k − lambda_s0)/h in <paramref name="rks"/> (r_order = 1),
    /// the system R·ρ = b (R[j][k] = r_k^j) of <paramref name="order"/> rows in <paramref name="r"/>, <paramref name="b"/>,
    /// and the update's coefficients on the sample (Cx), on the newest output (Cm = scale·h·φ₁) and on the
    /// corrections (Cr = scale·B(h)).
    /// </summary>
    private (float Cx, float Cm, float Cr) StepCoefficients(float[] sigmas, int from, int order, Span<float> rks, Span<float> r, Span<float> b)
    {
        var t = Level(sigmas[from + 1]);
        var s0 = Level(sigmas[from]);
        float h = t.Lambda - s0.Lambda;
        for (int k = 1; k < order; k++) rks[k - 1] = (Level(sigmas[from - k]).Lambda - s0.Lambda) / h;
        rks[order - 1] = 1f;

        float hh = _predictX0 ? -h : h;
        float hPhi1 = TorchMath.Expm1(hh);
        float hPhiK = hPhi1 / hh - 1f;
        float bh = _bh2 ? TorchMath.Expm1(hh) : hh;
        int factorial = 1;
        for (int j = 1; j <= order; j++)
        {
            for (int k = 0; k < order; k++)
                r[(j - 1) * order + k] = j == 1 ? 1f : j == 2 ? rks[k] : rks[k] * rks[k];
            b[j - 1] = hPhiK * factorial / bh;
            factorial *= j + 1;
            hPhiK = hPhiK / hh - (float)(1.0 / factorial);
        }

        float cx = _predictX0 ? t.Sigma / s0.Sigma : t.Alpha / s0.Alpha;
        float scale = _predictX0 ? t.Alpha : t.Sigma;
        return (cx, scale * hPhi1, scale * bh);
    }

    /// <summary>UniP (diffusers' <c>multistep_uni_p_bh_update</c>): predicts the sample at sigmas[i+1] in place.</summary>
    private void Predictor(float[] sigmas, int i, int order, Span<float> x)
    {
        Span<float> rks = stackalloc float[3];
        Span<float> r = stackalloc float[9];
        Span<float> b = stackalloc float[3];
        var (cx, cm, cr) = StepCoefficients(sigmas, i, order, rks, r, b);

        // rhos_p: 0.5 for order 2, else the leading (order−1)×(order−1) system.
        Span<float> rhos = stackalloc float[2];
        if (order == 2) rhos[0] = 0.5f;
        else if (order == 3)
        {
            Span<float> r2 = stackalloc float[4] { r[0], r[1], r[3], r[4] };
            rhos[0] = b[0];
            rhos[1] = b[1];
            SolveInPlace(r2, rhos, 2);
        }

        var m0 = History[0];
        var m1 = order >= 2 ? History[1] : default;
        var m2 = order >= 3 ? History[2] : default;
        for (int k = 0; k < x.Length; k++)
        {
            float v = cx * x[k] - cm * m0[k];
            if (order >= 2)
            {
                // D1s: (m_k − m0)/r_k; pred_res = Σ rhos_p[k]·D1s[k].
                float res = rhos[0] * ((m1[k] - m0[k]) / rks[0]);
                if (order == 3) res += rhos[1] * ((m2[k] - m0[k]) / rks[1]);
                v -= cr * res;
            }
            x[k] = v;
        }
    }

    /// <summary>
    /// UniC (diffusers' <c>multistep_uni_c_bh_update</c>): corrects the sample predicted for sigmas[i] with the new
    /// converted output (history slot 0), starting again from the stored previous sample at sigmas[i−1].
    /// </summary>
    private void Corrector(float[] sigmas, int i, int order, Span<float> x)
    {
        Span<float> rks = stackalloc float[3];
        Span<float> r = stackalloc float[9];
        Span<float> b = stackalloc float[3];
        var (cx, cm, cr) = StepCoefficients(sigmas, i - 1, order, rks, r, b);

        Span<float> rhos = stackalloc float[3];
        if (order == 1) rhos[0] = 0.5f;
        else
        {
            b[..order].CopyTo(rhos);
            SolveInPlace(r[..(order * order)], rhos, order);
        }

        float rhoLast = rhos[order - 1];
        var modelT = History[0];
        var m0 = History[1];
        var m1 = order >= 2 ? History[2] : default;
        var m2 = order >= 3 ? History[3] : default;
        var last = _lastSample!;
        for (int k = 0; k < x.Length; k++)
        {
            float v = cx * last[k] - cm * m0[k];
            float d1t = modelT[k] - m0[k];
            float corr;
            if (order == 1) corr = rhoLast * d1t;
            else
            {
                float res = rhos[0] * ((m1[k] - m0[k]) / rks[0]);
                if (order == 3) res += rhos[1] * ((m2[k] - m0[k]) / rks[1]);
                corr = res + rhoLast * d1t;
            }
            x[k] = v - cr * corr;
        }
    }
}
