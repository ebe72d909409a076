using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>PNDMScheduler</c> (pseudo numerical methods, Liu et al. 2022): Runge–Kutta warm-up steps (unless
/// <c>skip_prk_steps</c>) followed by 4th-order linear multistep (PLMS). The SD 1.x default.
/// All coefficient arithmetic is float32 like diffusers' 0-dim torch tensors.
/// </summary>
public sealed class PndmScheduler : AlphaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "PNDMScheduler", order: 1, stochastic: false,
        "Stable Diffusion 1.x's original default (PLMS): deterministic, good at 50 steps; prefer DPM++ 2M or UniPC for fewer steps.",
        BaseOptions(predictionTypes: [CommonOptions.Epsilon, CommonOptions.VPrediction])
            .Add(SchedulerOption.Boolean("skip_prk_steps", false))
            .Add(CommonOptions.SetAlphaToOne(false)),
        options => new PndmScheduler(options),
        new SchedulerAlias("PLMS"), new SchedulerAlias("PNDM"));

    private const int PndmOrder = 4;
    // Python's 1/6 and 1/3 are float64; torch rounds them to float32 when multiplying a float32 tensor.
    private const float Sixth = (float)(1.0 / 6);
    private const float Third = (float)(1.0 / 3);

    private readonly bool _skipPrk;
    private readonly bool _vPrediction;

    private double[] _prkTimesteps = [];
    private int _counter;
    // diffusers' ets: the last four model outputs (Et(1) the newest).
    private readonly ModelOutputHistory _ets = new(4);
    private float[]? _curModelOutput;     // PRK running sum
    private bool _curModelOutputIsZero = true;
    private float[]? _curSample;
    private bool _hasCurSample;
    private float[]? _work;

    public PndmScheduler(SchedulerOptions options) : base(options)
    {
        _skipPrk = options.GetBool("skip_prk_steps");
        _vPrediction = options.GetString("prediction_type") == CommonOptions.VPrediction;
    }

    public override string Name => "PNDMScheduler";

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        int trainSteps = NoiseSchedule.TrainTimesteps;
        // Ascending order, as PNDM builds _timesteps before reversing.
        var ascending = IntegerTimesteps(inferenceSteps);
        Array.Reverse(ascending);

        double[] prk, plms;
        if (_skipPrk)
        {
            // plms = [t_0 … t_{n-2}, t_{n-2}, t_{n-1}] reversed: the first step is taken twice.
            prk = [];
            var list = new List<double>(ascending[..^1]);
            if (ascending.Length >= 2) list.Add(ascending[^2]);
            list.Add(ascending[^1]);
            list.Reverse();
            plms = list.ToArray();
        }
        else
        {
            // Runge–Kutta on the last pndm_order timesteps, each with its half step: t, t+h/2, t+h/2, t+h.
            int half = trainSteps / inferenceSteps / 2;
            var lastFew = ascending[Math.Max(0, ascending.Length - PndmOrder)..];
            var repeated = new List<double>();
            for (int i = 0; i < lastFew.Length; i++)
            {
                repeated.Add(lastFew[i]);
                repeated.Add(lastFew[i] + half);
            }
            // diffusers tiles [0, half] pndm_order times regardless of how many timesteps there are.
            if (lastFew.Length < PndmOrder)
                throw new ArgumentOutOfRangeException(nameof(inferenceSteps), inferenceSteps,
                    $"PNDM with Runge–Kutta warm-up needs at least {PndmOrder} steps; use skip_prk_steps=true for fewer.");
            var withoutLast = repeated.Take(repeated.Count - 1).SelectMany(v => new[] { v, v }).ToList();
            var trimmed = withoutLast.Skip(1).Take(withoutLast.Count - 2).ToList();
            trimmed.Reverse();
            prk = trimmed.ToArray();
            plms = ascending.Length > 3 ? ascending[..^3] : [];
            Array.Reverse(plms);
        }
        _prkTimesteps = prk;
        SetTimestepValues([.. prk, .. plms]);
        _counter = 0;
        _ets.Clear();
        _curModelOutputIsZero = true;
        _hasCurSample = false;
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        EnsureTimestepsSet();
        CheckShapes(modelOutput, sample, shape);
        if (_counter < _prkTimesteps.Length && !_skipPrk) StepPrk(modelOutput, (long)timestep, sample);
        else StepPlms(modelOutput, (long)timestep, sample);
    }

    private void StepPrk(ReadOnlySpan<float> modelOutput, long timestep, Span<float> sample)
    {
        int n = sample.Length;
        int trainSteps = NoiseSchedule.TrainTimesteps;
        long diffToPrev = _counter % 2 != 0 ? 0 : trainSteps / InferenceSteps!.Value / 2;
        long prevTimestep = timestep - diffToPrev;
        long t = (long)_prkTimesteps[_counter / 4 * 4];
        var sum = Rent(ref _curModelOutput, n);
        var effective = Rent(ref _work, n);
        int phase = _counter % 4;
        if (phase == 0)
        {
            Accumulate(sum, Sixth, modelOutput);
            modelOutput.CopyTo(_ets.Push(modelOutput.Length));
            sample.CopyTo(Rent(ref _curSample, n));
            _hasCurSample = true;
            modelOutput.CopyTo(effective);
        }
        else if (phase is 1 or 2)
        {
            Accumulate(sum, Third, modelOutput);
            modelOutput.CopyTo(effective);
        }
        else
        {
            // model_output = cur_model_output + 1/6 * model_output; then the running sum restarts at 0.
            for (int i = 0; i < n; i++) effective[i] = (_curModelOutputIsZero ? 0f : sum[i]) + Sixth * modelOutput[i];
            _curModelOutputIsZero = true;
        }
        ReadOnlySpan<float> baseSample = _hasCurSample ? _curSample : sample;
        PrevSample(baseSample, t, prevTimestep, effective, sample);
        _counter++;
    }

    private void Accumulate(float[] sum, float weight, ReadOnlySpan<float> modelOutput)
    {
        // cur_model_output starts as the Python int 0: the first addition yields weight*model_output exactly.
        if (_curModelOutputIsZero)
        {
            for (int i = 0; i < sum.Length; i++) sum[i] = weight * modelOutput[i];
            _curModelOutputIsZero = false;
        }
        else
        {
            for (int i = 0; i < sum.Length; i++) sum[i] += weight * modelOutput[i];
        }
    }

    private void StepPlms(ReadOnlySpan<float> modelOutput, long timestep, Span<float> sample)
    {
        int n = sample.Length;
        long ratio = NoiseSchedule.TrainTimesteps / InferenceSteps!.Value;
        long prevTimestep = timestep - ratio;
        if (_counter != 1)
        {
            modelOutput.CopyTo(_ets.Push(modelOutput.Length));
        }
        else
        {
            prevTimestep = timestep;
            timestep += ratio;
        }

        var effective = Rent(ref _work, n);
        Span<float> source = sample;
        if (_ets.Count == 1 && _counter == 0)
        {
            modelOutput.CopyTo(effective);
            sample.CopyTo(Rent(ref _curSample, n));
            _hasCurSample = true;
        }
        else if (_ets.Count == 1 && _counter == 1)
        {
            var e1 = Et(1);
            for (int i = 0; i < n; i++) effective[i] = (modelOutput[i] + e1[i]) / 2f;
            source = _curSample;
            _hasCurSample = false;
        }
        else if (_ets.Count == 2)
        {
            var e1 = Et(1); var e2 = Et(2);
            for (int i = 0; i < n; i++) effective[i] = (3f * e1[i] - e2[i]) / 2f;
        }
        else if (_ets.Count == 3)
        {
            var e1 = Et(1); var e2 = Et(2); var e3 = Et(3);
            for (int i = 0; i < n; i++) effective[i] = (23f * e1[i] - 16f * e2[i] + 5f * e3[i]) / 12f;
        }
        else
        {
            var e1 = Et(1); var e2 = Et(2); var e3 = Et(3); var e4 = Et(4);
            const float inv24 = (float)(1.0 / 24);
            for (int i = 0; i < n; i++) effective[i] = inv24 * (55f * e1[i] - 59f * e2[i] + 37f * e3[i] - 9f * e4[i]);
        }
        PrevSample(source, timestep, prevTimestep, effective, sample);
        _counter++;
    }

    /// <summary>ets[-k]: the k-th newest model output.</summary>
    private ReadOnlySpan<float> Et(int k) => _ets[k - 1];

    /// <summary>
    /// Formula (9) of the PNDM paper: x_prev = sqrt(ᾱ_prev/ᾱ_t)·x − (ᾱ_prev − ᾱ_t)·ε / (ᾱ_t·sqrt(1−ᾱ_prev) + sqrt(ᾱ_t(1−ᾱ_t)ᾱ_prev)).
    /// <paramref name="destination"/> may alias <paramref name="sample"/>.
    /// </summary>
    private void PrevSample(ReadOnlySpan<float> sample, long timestep, long prevTimestep, float[] modelOutput, Span<float> destination)
    {
        float alphaProdT = AlphaCumprod(timestep);
        float alphaProdTPrev = AlphaCumprod(prevTimestep);
        float betaProdT = 1f - alphaProdT;
        float betaProdTPrev = 1f - alphaProdTPrev;
        int n = destination.Length;
        if (_vPrediction)
        {
            float sa = MathF.Sqrt(alphaProdT), sb = MathF.Sqrt(betaProdT);
            for (int i = 0; i < n; i++) modelOutput[i] = sa * modelOutput[i] + sb * sample[i];
        }
        float sampleCoeff = MathF.Sqrt(alphaProdTPrev / alphaProdT);
        float denom = alphaProdT * MathF.Sqrt(betaProdTPrev) + MathF.Sqrt(alphaProdT * betaProdT * alphaProdTPrev);
        float diff = alphaProdTPrev - alphaProdT;
        for (int i = 0; i < n; i++)
            destination[i] = sampleCoeff * sample[i] - diff * modelOutput[i] / denom;
    }
}
