using StableDiffusion.Random;

namespace StableDiffusion.Schedulers;

/// <summary>
/// diffusers' <c>DPMSolverSinglestepScheduler</c> (0.35.2): singlestep DPM-Solver / DPM-Solver++ (and SDE-DPM-Solver++)
/// of order 1–3. Each block of k steps restarts from the sample stored at its first (first-order) step, following a
/// precomputed order list. Like diffusers, <c>SetTimesteps</c> switches <c>lower_order_final</c> on for good when
/// the step count is not a multiple of the order or the final sigma is zero (see <see cref="VpSolverScheduler.LowerOrderFinal"/>).
/// </summary>
public sealed class DpmSolverSinglestepScheduler : DpmSolverSchedulerBase
{
    public const string ClassName = "DPMSolverSinglestepScheduler";

    public static readonly SchedulerRegistration Registration = new(
        ClassName, order: 1, stochastic: false,
        "Singlestep DPM-Solver(++): each pair (or triple) of steps restarts from one sample; an alternative to DPM++ 2M.",
        DeclareOptions(lowerOrderFinal: false, timestepSpacing: false, "dpmsolver", "dpmsolver++", "sde-dpmsolver++", "deis"),
        options => new DpmSolverSinglestepScheduler(options),
        new SchedulerAlias("DPM++ 2S"),
        new SchedulerAlias("DPM++ 2S Karras", ("use_karras_sigmas", true)));

    private int[] _orders = [];
    private float[]? _storedSample;

    public DpmSolverSinglestepScheduler(SchedulerOptions options) : base(options) { }

    public override string Name => ClassName;

    /// <summary>The solver order of every step of the current run (diffusers' <c>order_list</c>).</summary>
    public IReadOnlyList<int> OrderList => _orders;

    // The singlestep class has no timestep_spacing: the base's defaults give the clipped 'linspace' grid; Karras timesteps rounded.
    private protected override DpmSolverSchedule.Result BuildSchedule(int inferenceSteps) =>
        DpmSolverSchedule.Build(NoiseSchedule, inferenceSteps, Spacing, StepsOffset, LambdaMinClipped,
            SigmaSpacing, roundConvertedTimesteps: true, FinalSigmaZero ? DpmFinalSigma.Zero : DpmFinalSigma.TrainingMin);

    protected override void ResetState(int inferenceSteps)
    {
        if (!LowerOrderFinal && (inferenceSteps % SolverOrder != 0 || FinalSigmaZero))
        {
            // diffusers rewrites its config here (register_to_config), so the change outlives this run.
            LowerOrderFinal = true;
        }
        _orders = OrderListFor(inferenceSteps, SolverOrder, LowerOrderFinal, FinalSigmaZero);
    }

    /// <summary>diffusers' <c>get_order_list</c> (0.35.2, including the first-order last step when the final sigma is 0).</summary>
    internal static int[] OrderListFor(int steps, int order, bool lowerOrderFinal, bool finalSigmaZero)
    {
        var orders = new List<int>(steps);
        void Repeat(int[] pattern, int times) { for (int i = 0; i < times; i++) orders.AddRange(pattern); }
        int[] cycle = order == 3 ? [1, 2, 3] : order == 2 ? [1, 2] : [1];
        if (lowerOrderFinal && order == 3)
        {
            if (steps % 3 == 0) { Repeat(cycle, steps / 3 - 1); orders.AddRange([1, 2, 1]); }
            else if (steps % 3 == 1) { Repeat(cycle, steps / 3); orders.Add(1); }
            else { Repeat(cycle, steps / 3); orders.AddRange([1, 2]); }
        }
        else if (lowerOrderFinal && order == 2)
        {
            if (steps % 2 == 0) { Repeat(cycle, steps / 2 - 1); orders.AddRange([1, 1]); }
            else { Repeat(cycle, steps / 2); orders.Add(1); }
        }
        else
        {
            Repeat(cycle, order == 1 ? steps : steps / order);
        }
        if (finalSigmaZero && orders.Count > 0) orders[^1] = 1;
        return orders.ToArray();
    }

    protected override void StepCore(int i, ReadOnlySpan<float> modelOutput, Span<float> sample, LatentShape shape,
                                     IReadOnlyList<IRandomGenerator>? generators)
    {
        if (i >= _orders.Length)
            throw new InvalidOperationException(
                $"{ClassName}: no solver order for step {i} ({_orders.Length} steps; solver_order {SolverOrder} needs a multiple of it).");
        var sigmas = SigmaValues;
        ConvertModelOutput(modelOutput, sample, sigmas[i], shape, History.Push(shape.Length));
        var noise = StepNoise(generators, shape);

        // A run started mid-schedule (img2img) may lack earlier outputs: lower the order until they exist.
        int order = _orders[i];
        while (History.Count < order) order--;

        var stored = Rent(ref _storedSample, shape.Length);
        if (order == 1) sample.CopyTo(stored);
        else stored.CopyTo(sample);

        switch (order)
        {
            case 1:
                DpmSolverUpdates.FirstOrder(Algorithm, sigmas[i + 1], sigmas[i], History[0], sample, noise);
                break;
            case 2:
                DpmSolverUpdates.SinglestepSecondOrder(Algorithm, Heun, sigmas[i + 1], sigmas[i], sigmas[i - 1],
                    History[0], History[1], sample, noise);
                break;
            default:
                DpmSolverUpdates.SinglestepThirdOrder(Algorithm, Heun, sigmas[i + 1], sigmas[i], sigmas[i - 1],
                    sigmas[i - 2], History[0], History[1], History[2], sample, noise);
                break;
        }
    }
}
