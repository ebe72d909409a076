using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>LMSDiscreteScheduler</c>: linear multistep (order up to 4) in sigma space, with coefficients obtained
/// by integrating the Lagrange basis polynomials over [σ_t, σ_t+1] as diffusers does with scipy's quad. The integrand
/// is evaluated in float32, because diffusers computes it from the float32 sigma tensor. Deterministic.
/// </summary>
public sealed class LmsDiscreteScheduler : SigmaSchedulerBase
{
    public static readonly SchedulerRegistration Registration = new(
        "LMSDiscreteScheduler", order: 1, stochastic: false,
        "Linear multistep: smooth and deterministic, good at 30–50 steps; can be unstable at very low step counts.",
        BaseOptions(sigmaRamp: true),
        options => new LmsDiscreteScheduler(options),
        new SchedulerAlias("LMS"), new SchedulerAlias("LMS Karras", ("use_karras_sigmas", true)), new SchedulerAlias("k_lms"));

    /// <summary>diffusers' default <c>order</c> argument of <c>step()</c>.</summary>
    public const int DefaultOrder = 4;

    // diffusers' derivatives: the last (up to four) derivatives (x − x̂₀)/σ, newest first.
    private readonly ModelOutputHistory _derivatives = new(DefaultOrder);

    public LmsDiscreteScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => "LMSDiscreteScheduler";

    /// <summary>The multistep order used by <see cref="Step"/> (diffusers' <c>order</c> argument, 1–4).</summary>
    public int LmsOrder { get; set; } = DefaultOrder;

    protected override void OnSetTimesteps(int inferenceSteps)
    {
        base.OnSetTimesteps(inferenceSteps);
        _derivatives.Clear();
    }

    public override void Step(ReadOnlySpan<float> modelOutput, double timestep, Span<float> sample, LatentShape shape,
                              IReadOnlyList<IRandomGenerator>? generators = null, double eta = 0)
    {
        CheckShapes(modelOutput, sample, shape);
        if (LmsOrder is < 1 or > DefaultOrder)
            throw new InvalidOperationException($"LMS order must be between 1 and {DefaultOrder}; it is {LmsOrder}.");
        int index = CurrentStepIndex(timestep);
        int n = sample.Length;
        float sigma = SigmaValues[index];
        var denoised = Denoise(modelOutput, sample, sigma);

        var derivative = _derivatives.Push(n);
        for (int i = 0; i < n; i++) derivative[i] = (sample[i] - denoised[i]) / sigma;

        // prev = sample + Σ_c coeff_c · derivative_{newest − c}; each coefficient is rounded to float32 by torch. The
        // coefficients are those of order min(step_index + 1, order), but diffusers zips them with the derivatives held,
        // so a run started mid-schedule (img2img's begin index) uses only as many terms as it has derivatives.
        int order = Math.Min(index + 1, LmsOrder);
        int terms = Math.Min(order, _derivatives.Count);
        float k0 = (float)Coefficient(order, index, 0);
        float k1 = terms > 1 ? (float)Coefficient(order, index, 1) : 0f;
        float k2 = terms > 2 ? (float)Coefficient(order, index, 2) : 0f;
        float k3 = terms > 3 ? (float)Coefficient(order, index, 3) : 0f;
        var d0 = _derivatives[0];
        var d1 = terms > 1 ? _derivatives[1] : default;
        var d2 = terms > 2 ? _derivatives[2] : default;
        var d3 = terms > 3 ? _derivatives[3] : default;
        for (int i = 0; i < n; i++)
        {
            float sum = 0f;
            sum += k0 * d0[i];
            if (terms > 1) sum += k1 * d1[i];
            if (terms > 2) sum += k2 * d2[i];
            if (terms > 3) sum += k3 * d3[i];
            sample[i] = sample[i] + sum;
        }
        AdvanceStepIndex();
    }

    /// <summary>
    /// diffusers' <c>get_lms_coefficient</c>: ∫_{σ_t}^{σ_t+1} Π_{k≠j} (τ − σ_{t−k}) / (σ_{t−j} − σ_{t−k}) dτ, quad with
    /// epsrel 1e-4; each factor computed in float32 as torch does with the float32 sigmas.
    /// </summary>
    private double Coefficient(int order, int t, int currentOrder) =>
        GaussKronrod.Integrate(new LagrangeBasis(SigmaValues, order, t, currentOrder), SigmaValues[t], SigmaValues[t + 1], epsrel: 1e-4);

    /// <summary>diffusers' <c>lms_derivative</c>: Π_{k≠j} (τ − σ_{t−k}) / (σ_{t−j} − σ_{t−k}), each factor in float32.</summary>
    private readonly struct LagrangeBasis(float[] sigmas, int order, int t, int currentOrder) : IIntegrand
    {
        public double Evaluate(double tau)
        {
            float prod = 1f;
            float tau32 = (float)tau;
            for (int k = 0; k < order; k++)
            {
                if (k == currentOrder) continue;
                prod *= (tau32 - sigmas[t - k]) / (sigmas[t - currentOrder] - sigmas[t - k]);
            }
            return prod;
        }
    }
}
