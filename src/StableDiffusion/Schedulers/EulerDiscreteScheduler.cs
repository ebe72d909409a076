using System.Numerics.Tensors;
using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>EulerDiscreteScheduler</c> (Karras et al. 2022, Algorithm 2 with s_churn = 0): a first-order ODE step
/// x ← x + (x − x̂₀)/σ · (σ_next − σ) in sigma space. Deterministic.
/// </summary>
public sealed class EulerDiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "EulerDiscreteScheduler", order: 1, stochastic: false,
        "Fast, simple and deterministic; good results in 20–30 steps, the usual default for SDXL.",
        BaseOptions(sigmaRamp: true, predictionTypes: [CommonOptions.Epsilon, CommonOptions.VPrediction, CommonOptions.Sample, "original_sample"])
            .Add(SchedulerOption.Choice("interpolation_type", "linear", "linear", "log_linear"))
            .Add(SchedulerOption.NullableNumber("sigma_min"))
            .Add(SchedulerOption.NullableNumber("sigma_max"))
            .Add(SchedulerOption.Choice("timestep_type", "discrete", "discrete", "continuous"))
            .Add(CommonOptions.RescaleBetasZeroSnr())
            .Add(CommonOptions.FinalSigmasType()),
        options => new EulerDiscreteScheduler(options),
        new SchedulerAlias("Euler"),
        new SchedulerAlias("Euler Karras", ("use_karras_sigmas", true)));

    private readonly string _interpolation;
    private readonly bool _continuousTimesteps;
    private readonly string _finalSigmasType;
    private readonly double? _sigmaMin, _sigmaMax;

    public EulerDiscreteScheduler(SchedulerOptions options) : base(options)
    {
        _interpolation = options.GetString("interpolation_type");
        _continuousTimesteps = options.GetString("timestep_type") == "continuous" && PredictionType == CommonOptions.VPrediction;
        _finalSigmasType = options.GetString("final_sigmas_type");
        _sigmaMin = options.GetNullableDouble("sigma_min");
        _sigmaMax = options.GetNullableDouble("sigma_max");
    }

    public override string Name => "EulerDiscreteScheduler";

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        double[] timesteps, sigmas;
        if (_interpolation == "log_linear")
        {
            timesteps = GridTimesteps(inferenceSteps);
            // torch.linspace(log σ_min, log σ_max, n + 1).exp() in float32 (diffusers' ascending order, kept as is).
            var logs = TorchOps.LinspaceFloat32(NumpyMath.LogFloat32(TrainSigmas[^1]), NumpyMath.LogFloat32(TrainSigmas[0]), inferenceSteps + 1);
            sigmas = Array.ConvertAll(logs, l => (double)TorchMath.Exp(l));
            (timesteps, sigmas) = WithRamp(timesteps, sigmas, inferenceSteps, _sigmaMin, _sigmaMax);
        }
        else
        {
            (timesteps, sigmas) = InterpolatedSchedule(inferenceSteps, _sigmaMin, _sigmaMax);
        }

        SigmaValues = WithFinalSigma(sigmas, SigmaSchedule.FinalSigma(_finalSigmasType, NoiseSchedule));
        if (_continuousTimesteps)
        {
            // EDM-style continuous timesteps for v-prediction models: 0.25·log σ (float32).
            var t = new double[SigmaValues.Length - 1];
            for (int i = 0; i < t.Length; i++) t[i] = 0.25f * TorchMath.Log(SigmaValues[i]);
            SetTimestepValues(t);
        }
        else
        {
            SetTimestepValues(ToFloat32(timesteps));
        }
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        int index = CurrentStepIndex(timestep);
        float sigma = SigmaValues[index];
        float sigmaHat = sigma; // gamma = 0 (s_churn = 0)
        var denoised = Denoise(modelOutput, sample, sigmaHat);
        float dt = SigmaValues[index + 1] - sigmaHat;
        // derivative = (x − x̂₀)/σ̂; x += derivative·dt — vectorized with the scalar loop's roundings, in the scratch buffer.
        var derivative = denoised.AsSpan(0, sample.Length);
        TensorPrimitives.Subtract(sample, derivative, derivative);
        TensorPrimitives.Divide(derivative, sigmaHat, derivative);
        TensorPrimitives.Multiply(derivative, dt, derivative);
        TensorPrimitives.Add(sample, derivative, sample);
        AdvanceStepIndex();
    }
}
