using StableDiffusion.Random;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// Behaviour of the DPM-family schedulers that the fixtures do not cover: option handling, diffusers' order lists,
/// per-image noise, every option combination running to finite results, allocation-free steps.
/// </summary>
public class DpmFamilyBehaviourTests
{
    private static readonly SchedulerConfig Sd15 = SchedulerConfig.Parse(File.ReadAllText(
        Path.Combine(Support.Fixtures.TinySd, "scheduler", "scheduler_config.json")));

    [Theory]
    [InlineData("DPM++ 2M", "DPMSolverMultistepScheduler", "dpmsolver++", false)]
    [InlineData("DPM++ 2M Karras", "DPMSolverMultistepScheduler", "dpmsolver++", true)]
    [InlineData("DPM++ 2M SDE", "DPMSolverMultistepScheduler", "sde-dpmsolver++", false)]
    [InlineData("dpm++ 2m sde karras", "DPMSolverMultistepScheduler", "sde-dpmsolver++", true)]
    [InlineData("DPMSolverSinglestep", "DPMSolverSinglestepScheduler", "dpmsolver++", false)]
    [InlineData("DEIS", "DEISMultistepScheduler", "deis", false)]
    [InlineData("UniPC", "UniPCMultistepScheduler", null, false)]
    public void AliasesSelectClassAndOptions(string alias, string className, string? algorithm, bool karras)
    {
        var scheduler = SchedulerRegistry.Create(alias, Sd15);
        Assert.Equal(className, scheduler.Name);
        Assert.Equal(algorithm, scheduler.Config.GetString("algorithm_type", null));
        Assert.Equal(karras, scheduler.Config.GetBool("use_karras_sigmas", false));
    }

    [Fact]
    public void UnsupportedCombinationsThrowClearly()
    {
        // diffusers refuses a final sigma of 0 for the noise-prediction algorithms.
        var ex = Assert.Throws<ArgumentException>(() =>
            SchedulerRegistry.Create("DPMSolverMultistep", Sd15, [new("algorithm_type", "dpmsolver")]));
        Assert.Contains("sigma_min", ex.Message);
        Assert.Throws<NotSupportedException>(() => SchedulerRegistry.Create("DPMSolverMultistep", Sd15,
            [new("algorithm_type", "sde-dpmsolver"), new("final_sigmas_type", "sigma_min"), new("solver_order", 3)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => SchedulerRegistry.Create("DEIS", Sd15, [new("solver_order", 4)]));
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("UniPC", Sd15,
            [new("use_karras_sigmas", true), new("use_exponential_sigmas", true)]));
        Assert.Throws<NotSupportedException>(() => SchedulerRegistry.Create("UniPC", Sd15, [new("use_flow_sigmas", true)]));
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("DPMSolverSinglestep", Sd15, [new("algorithm_type", "sde-dpmsolver")]));
    }

    [Fact]
    public void SdeVariantNeedsGenerators()
    {
        var scheduler = SchedulerRegistry.Create("DPM++ 2M SDE", Sd15);
        scheduler.SetTimesteps(5);
        var shape = new LatentShape(1, 4, 8, 8);
        var ex = Assert.Throws<ArgumentException>(() =>
            scheduler.Step(new float[shape.Length], scheduler.Timesteps[0], new float[shape.Length], shape));
        Assert.Equal("generators", ex.ParamName);
    }

    /// <summary>diffusers 0.35.2 <c>get_order_list</c> outputs.</summary>
    [Theory]
    [InlineData(2, 10, true, false, new[] { 1, 2, 1, 2, 1, 2, 1, 2, 1, 1 })]
    [InlineData(2, 10, false, false, new[] { 1, 2, 1, 2, 1, 2, 1, 2, 1, 2 })]
    [InlineData(2, 7, true, false, new[] { 1, 2, 1, 2, 1, 2, 1 })]
    [InlineData(3, 9, true, false, new[] { 1, 2, 3, 1, 2, 3, 1, 2, 1 })]
    [InlineData(3, 10, true, false, new[] { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1 })]
    [InlineData(3, 11, true, true, new[] { 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 1 })]
    [InlineData(3, 9, false, false, new[] { 1, 2, 3, 1, 2, 3, 1, 2, 3 })]
    public void SinglestepOrderListFollowsDiffusers(int order, int steps, bool lowerOrderFinal, bool finalZero, int[] expected) =>
        Assert.Equal(expected, DpmSolverSinglestepScheduler.OrderListFor(steps, order, lowerOrderFinal, finalZero));

    [Fact]
    public void SinglestepSwitchesLowerOrderFinalOnLikeDiffusers()
    {
        var scheduler = (DpmSolverSinglestepScheduler)SchedulerRegistry.Create("DPMSolverSinglestep", Sd15,
            [new("final_sigmas_type", "sigma_min")]);
        scheduler.SetTimesteps(10);
        Assert.False(scheduler.LowerOrderFinal);
        scheduler.SetTimesteps(9); // odd count with solver_order 2: diffusers sets lower_order_final for good
        Assert.True(scheduler.LowerOrderFinal);
        scheduler.SetTimesteps(10);
        Assert.True(scheduler.LowerOrderFinal);
        Assert.Equal([1, 2, 1, 2, 1, 2, 1, 2, 1, 1], scheduler.OrderList);
    }

    [Fact]
    public void KarrasTimestepsAreRoundedAndDistinct()
    {
        var scheduler = SchedulerRegistry.Create("DPM++ 2M Karras", Sd15);
        scheduler.SetTimesteps(25);
        Assert.Equal(25, scheduler.Timesteps.Count);
        Assert.All(scheduler.Timesteps, t => Assert.Equal(Math.Round(t), t));
        Assert.Equal(26, scheduler.Sigmas!.Count);
        Assert.Equal(0f, scheduler.Sigmas[^1]);
    }

    /// <summary>Per-image generators: a batch gives each image exactly the trajectory it gets alone.</summary>
    [Theory]
    [InlineData("DPM++ 2M SDE")]
    [InlineData("DPMSolverSinglestep", "sde-dpmsolver++")]
    public void BatchDrawsEachImagesNoiseFromItsOwnGenerator(string name, string? algorithm = null)
    {
        var shape1 = new LatentShape(1, 4, 8, 8);
        var shape2 = shape1 with { Batch = 2 };
        (string, object?)[] overrides = algorithm is null ? [] : [("algorithm_type", algorithm)];
        var batch = Run(name, overrides, shape2, [new TorchGenerator(5), new TorchGenerator(6)], out _, initialSeeds: [10, 11]);
        var first = Run(name, overrides, shape1, [new TorchGenerator(5)], out _, initialSeeds: [10]);
        var second = Run(name, overrides, shape1, [new TorchGenerator(6)], out _, initialSeeds: [11]);
        Assert.Equal(first, batch[..shape1.Length]);
        Assert.Equal(second, batch[shape1.Length..]);
    }

    public static TheoryData<string, (string, object?)[]> OptionCombinations()
    {
        var data = new TheoryData<string, (string, object?)[]>();
        foreach (var algorithm in new[] { "dpmsolver++", "sde-dpmsolver++", "dpmsolver", "sde-dpmsolver" })
            foreach (var order in new[] { 1, 2, 3 })
                foreach (var solverType in new[] { "midpoint", "heun" })
                {
                    if (algorithm == "sde-dpmsolver" && order == 3) continue;
                    var final = algorithm.EndsWith("++") ? "zero" : "sigma_min";
                    data.Add("DPMSolverMultistep", [("algorithm_type", algorithm), ("solver_order", order), ("solver_type", solverType),
                        ("final_sigmas_type", final), ("lower_order_final", false)]);
                }
        foreach (var algorithm in new[] { "dpmsolver++", "sde-dpmsolver++", "dpmsolver" })
            foreach (var order in new[] { 1, 2, 3 })
                foreach (var solverType in new[] { "midpoint", "heun" })
                    data.Add("DPMSolverSinglestep", [("algorithm_type", algorithm), ("solver_order", order), ("solver_type", solverType),
                        ("final_sigmas_type", algorithm.EndsWith("++") ? "zero" : "sigma_min")]);
        foreach (var prediction in new[] { "epsilon", "v_prediction", "sample" })
        {
            data.Add("DPMSolverMultistep", [("prediction_type", prediction), ("thresholding", true), ("sample_max_value", 3.0)]);
            data.Add("DPMSolverMultistep", [("prediction_type", prediction), ("algorithm_type", "dpmsolver"), ("final_sigmas_type", "sigma_min"), ("thresholding", true)]);
            data.Add("DEIS", [("prediction_type", prediction), ("solver_order", 3), ("thresholding", true)]);
            data.Add("UniPC", [("prediction_type", prediction), ("solver_order", 3), ("thresholding", true)]);
            // Noise prediction cannot reach sigma 0 (σ_t·h·φ₁ = 0·∞ in diffusers too), hence sigma_min.
            data.Add("UniPC", [("prediction_type", prediction), ("predict_x0", false), ("solver_type", "bh1"), ("final_sigmas_type", "sigma_min")]);
        }
        data.Add("DPMSolverMultistep", [("use_exponential_sigmas", true)]);
        data.Add("DPMSolverMultistep", [("use_lu_lambdas", true)]);
        data.Add("DPMSolverMultistep", [("euler_at_final", true), ("timestep_spacing", "trailing")]);
        data.Add("DPMSolverMultistep", [("timestep_spacing", "leading"), ("steps_offset", 1), ("rescale_betas_zero_snr", true), ("prediction_type", "v_prediction")]);
        data.Add("DPMSolverMultistep", [("beta_schedule", "squaredcos_cap_v2"), ("lambda_min_clipped", -5.1)]);
        data.Add("DPMSolverSinglestep", [("use_karras_sigmas", true), ("solver_order", 3)]);
        data.Add("DEIS", [("use_karras_sigmas", true), ("solver_order", 3), ("timestep_spacing", "trailing")]);
        data.Add("DEIS", [("use_exponential_sigmas", true)]);
        data.Add("UniPC", [("use_karras_sigmas", true), ("final_sigmas_type", "sigma_min"), ("solver_order", 3), ("disable_corrector", new[] { 0, 1 })]);
        data.Add("UniPC", [("lower_order_final", false), ("solver_order", 3), ("final_sigmas_type", "sigma_min"), ("rescale_betas_zero_snr", true)]);
        return data;
    }

    /// <summary>Every option combination runs 12 steps to finite latents, and steps allocate nothing after the first.</summary>
    [Theory]
    [MemberData(nameof(OptionCombinations))]
    public void OptionCombinationRunsFiniteWithoutAllocating(string name, (string, object?)[] overrides)
    {
        var x = Run(name, overrides, new LatentShape(2, 4, 8, 8), [new TorchGenerator(1), new TorchGenerator(2)], out long allocated);
        Assert.All(x, v => Assert.True(float.IsFinite(v), $"{name}: non-finite latent"));
        // The runtime may allocate on this thread while it re-JITs a hot method (tiering, on-stack replacement) under the
        // load of the parallel test run; an allocation of ours happens again in a second, identical run.
        if (allocated != 0) Run(name, overrides, new LatentShape(2, 4, 8, 8), [new TorchGenerator(1), new TorchGenerator(2)], out allocated);
        Assert.Equal(0, allocated);
    }

    /// <summary>
    /// Runs 12 steps of the fixture's fake model from per-image randn noise (seeds 0, 1, … unless given);
    /// reports the bytes allocated by steps 3…12.
    /// </summary>
    private static float[] Run(string name, (string Key, object? Value)[] overrides, LatentShape shape,
                               IReadOnlyList<IRandomGenerator> generators, out long allocatedAfterWarmup, ulong[]? initialSeeds = null)
    {
        var scheduler = SchedulerRegistry.Create(name, Sd15, overrides.Select(o => new KeyValuePair<string, object?>(o.Key, o.Value)));
        scheduler.SetTimesteps(12);
        var x = new float[shape.Length];
        for (int b = 0; b < shape.Batch; b++)
            new TorchGenerator(initialSeeds?[b] ?? (ulong)b).Randn(x.AsSpan(b * shape.ImageLength, shape.ImageLength));
        var eps = new float[shape.Length];
        var timesteps = scheduler.Timesteps.ToArray();
        allocatedAfterWarmup = 0;
        for (int i = 0; i < timesteps.Length; i++)
        {
            double t = timesteps[i];
            float shift = (float)(0.01 * t / 1000.0);
            for (int k = 0; k < eps.Length; k++) eps[k] = x[k] * 0.1f + shift;
            long before = GC.GetAllocatedBytesForCurrentThread();
            scheduler.Step(eps, t, x, shape, generators);
            if (i >= 2) allocatedAfterWarmup += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return x;
    }
}
