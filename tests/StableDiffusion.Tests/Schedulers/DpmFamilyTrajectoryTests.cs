using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// DPMSolverMultistep, DPMSolverSinglestep, DEISMultistep and UniPCMultistep against every run of both scheduler
/// manifests, driven by the run's recorded config: the fixture loop x = randn(seed 0)·σ_init; per t: scale, fake
/// eps = x_in·0.1f + (float)(0.01·t/1000), step with a torch generator seeded 1000 (drawn from by the SDE variants).
/// Timesteps and sigmas must be exact; scaled inputs and latents within |a − e| ≤ 1e-5·max(|e|, 1).
/// </summary>
public class DpmFamilyTrajectoryTests(ITestOutputHelper output)
{
    private static readonly string[] Classes =
    [
        DpmSolverMultistepScheduler.ClassName, DpmSolverSinglestepScheduler.ClassName,
        DeisMultistepScheduler.ClassName, UniPCMultistepScheduler.ClassName,
    ];

    private static IEnumerable<SchedulerRun> OurRuns => SchedulerRuns.All.Where(r => Classes.Contains(r.ClassName));

    /// <summary>Runs recorded without an error (there is no other reason to skip one; see <see cref="OnlyRunsWithErrorsAreSkipped"/>).</summary>
    private static bool Usable(SchedulerRun run) => run.Error is null;

    public static TheoryData<string> Runs0352 =>
        new(OurRuns.Where(r => r.Version == "0.35.2" && Usable(r)).Select(r => r.Id));

    public static TheoryData<string> Runs0120 =>
        new(OurRuns.Where(r => r.Version == "0.12.0" && Usable(r)).Select(r => r.Id));

    [Fact]
    public void OnlyRunsWithErrorsAreSkipped()
    {
        var runs = OurRuns.ToList();
        // 0.12.0: DEIS, DPM multistep, DPM singlestep; 0.35.2: UniPC, DEIS, DPM++ 2M (default, Karras, SDE); 1/10/20 steps each.
        Assert.Equal(9, runs.Count(r => r.Version == "0.12.0"));
        Assert.Equal(15, runs.Count(r => r.Version == "0.35.2"));
        var skipped = runs.Where(r => !Usable(r)).Select(r => r.Id).ToList();
        Assert.Empty(skipped); // none of these runs raised in diffusers
        foreach (var run in runs)
        {
            var latents = Fixtures.ReadF32(run.LatentsFile!);
            Assert.DoesNotContain(latents, float.IsNaN); // no NaN trajectories to exclude either
        }
        Assert.Equal(runs.Count(r => r.Version == "0.35.2"), Runs0352.Count);
        Assert.Equal(runs.Count(r => r.Version == "0.12.0"), Runs0120.Count);
    }

    /// <summary>
    /// diffusers 0.35.2 (the default behaviour), with the run's full recorded config and nothing else.
    /// DPMSolverMultistep (including Karras and SDE) and DEIS reproduce every float bit for bit (torch's SLEEF exp/log,
    /// numpy's SIMD log); UniPC stays within a few 1e-7 (its coefficients go through torch.linalg.solve/LAPACK and a
    /// cancelling h·φ_k chain, not reproduced to the bit), which the general tolerance covers.
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs0352))]
    public void MatchesDiffusers0352(string id)
    {
        var run = SchedulerRuns.All.Single(r => r.Id == id);
        var scheduler = SchedulerRegistry.Create(run.ClassName, run.Config);
        var result = TrajectoryRunner.Run(scheduler, run.Steps, TrajectoryRunner.InitialNoise(run), TrajectoryRunner.StepGenerator());
        var (scaled, latents) = TrajectoryAssert.RunMatches(run, scheduler, result);
        output.WriteLine($"{id}: max scaled-input error {scaled:G3}, max latent error {latents:G3}");
        if (run.ClassName is DpmSolverMultistepScheduler.ClassName or DeisMultistepScheduler.ClassName)
        {
            Assert.True(scaled == 0, $"{id}: scaled inputs not bit-exact ({scaled:G3}).");
            Assert.True(latents == 0, $"{id}: latents not bit-exact ({latents:G3}).");
        }
    }

    /// <summary>
    /// diffusers 0.12.0. Its recorded config lacks the keys 0.12 did not have, so under 0.35.2 semantics it would mean
    /// <c>final_sigmas_type="zero"</c>, which 0.12 did not do: the config cannot tell the two apart. The overrides below
    /// select the 0.35.2 options that reproduce the 0.12.0 algorithm:
    /// <list type="bullet">
    /// <item>DPMSolverMultistep / Singlestep: <c>final_sigmas_type="sigma_min"</c> — 0.12 stepped to t = 0, i.e. the
    /// training sigma_min, with a lower-order last step only below 15 steps.</item>
    /// <item>DPMSolverSinglestep: <c>lower_order_final=false</c> — 0.12's order list for solver_order 2 and an even step
    /// count was [1, 2, …, 1, 2] whatever lower_order_final said (diffusers PR #6953 changed that); 0.35.2 gives that
    /// list only with lower_order_final false (an odd count still forces it on, as 0.12 ended [.., 1] too).</item>
    /// <item>DEIS: none; same timesteps and final sigma_min.</item>
    /// </list>
    /// What no option restores: 0.12 read alpha_t, sigma_t, lambda_t from sqrt(alphas_cumprod) tables at integer
    /// timesteps, 0.35.2 derives them from the float32 sigmas (1/sqrt(σ²+1), σ·alpha). That moves the coefficients by
    /// about an ulp, so these runs are compared with the same tolerance but cannot be bit-exact. 0.12 kept no sigmas,
    /// so only timesteps are compared exactly.
    /// </summary>
    [Theory]
    [MemberData(nameof(Runs0120))]
    public void ReproducesDiffusers0120WithEquivalentOptions(string id)
    {
        var run = SchedulerRuns.All.Single(r => r.Id == id);
        var overrides = run.ClassName switch
        {
            DpmSolverMultistepScheduler.ClassName => new Dictionary<string, object?> { ["final_sigmas_type"] = "sigma_min" },
            DpmSolverSinglestepScheduler.ClassName => new Dictionary<string, object?>
            {
                ["final_sigmas_type"] = "sigma_min",
                ["lower_order_final"] = false,
            },
            _ => [],
        };
        var scheduler = SchedulerRegistry.Create(run.ClassName, run.Config!.With(overrides));
        var result = TrajectoryRunner.Run(scheduler, run.Steps, TrajectoryRunner.InitialNoise(run), TrajectoryRunner.StepGenerator());

        Assert.Null(run.Sigmas);
        Assert.Equal(run.Timesteps, scheduler.Timesteps);
        Assert.Equal((float)run.InitNoiseSigma, scheduler.InitNoiseSigma);
        Assert.Equal(run.Order, scheduler.Order);
        var (scaled, latents) = TrajectoryAssert.TrajectoriesMatch(run, result);
        output.WriteLine($"{id}: max scaled-input error {scaled:G3}, max latent error {latents:G3}");
    }

    /// <summary>The 0.12 config as recorded means final_sigmas_type "zero" today: a visibly different last step.</summary>
    [Fact]
    public void The0120ConfigAsRecordedFollows0352Defaults()
    {
        var run = SchedulerRuns.Get("0.12.0", "DPMSolverMultistepScheduler", 20);
        var scheduler = SchedulerRegistry.Create(run.ClassName, run.Config);
        var result = TrajectoryRunner.Run(scheduler, run.Steps, TrajectoryRunner.InitialNoise(run));
        Assert.Equal(0f, scheduler.Sigmas![^1]);
        double latents = TrajectoryAssert.MaxError(run.LatentsFile!, result.Latents, out int frame);
        Assert.True(latents > 1e-3, $"expected the 0.35.2 default to differ from 0.12.0 in the last step, got {latents:G3}");
        Assert.Equal(run.Steps, frame); // only the final step differs
    }
}
