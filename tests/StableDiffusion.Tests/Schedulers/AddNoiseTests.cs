using System.Text.Json;
using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using Xunit.Abstractions;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// <see cref="IScheduler.AddNoise"/> against diffusers 0.35.2's <c>scheduler.add_noise</c> (<see cref="AddNoiseReference"/>):
/// every variant of every class (fresh scheduler, one timestep per batch row, after <c>set_begin_index</c>, with the
/// timestep ignored, after one step, off the schedule), reproduced from the inputs the manifest records.
/// </summary>
public class AddNoiseTests(ITestOutputHelper output)
{
    /// <summary>The tolerance on add_noise outputs (max |value| ≈ 50 for σ_max ≈ 14.6).</summary>
    public const double Tolerance = 1e-6;

    private static readonly string[] VpSolvers =
        ["DPMSolverMultistepScheduler", "DPMSolverSinglestepScheduler", "DEISMultistepScheduler", "UniPCMultistepScheduler"];

    /// <summary>Every (class, variant) of the manifest.</summary>
    public static TheoryData<string, string> Variants()
    {
        var data = new TheoryData<string, string>();
        foreach (var className in AddNoiseReference.Classes)
            foreach (var variant in AddNoiseReference.Entry(className).GetProperty("variants").EnumerateObject())
                data.Add(className, variant.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void MatchesDiffusers(string className, string variant)
    {
        var reference = AddNoiseReference.Variant(className, variant);
        var expected = AddNoiseReference.Expected(reference);
        var actual = Reproduce(className, variant, reference);
        Assert.Equal(expected.Length, actual.Length);
        double max = MaxAbsDifference(expected, actual);
        output.WriteLine($"{className} {variant}: max |diff| {max:G3}");
        Assert.True(max <= Tolerance, $"{className} {variant}: add_noise off by {max:G3} (tolerance {Tolerance:G3}).");
    }

    [Fact]
    public void ReferencesCoverEveryRegisteredClass()
    {
        Assert.Equal(SchedulerRegistry.Registrations.Select(r => r.ClassName).Order(), AddNoiseReference.Classes.Order());
        foreach (var className in AddNoiseReference.Classes)
        {
            var variants = AddNoiseReference.Entry(className).GetProperty("variants").EnumerateObject().Select(v => v.Name).ToHashSet();
            Assert.Contains("no_begin_index", variants);
            Assert.Contains("per_sample", variants);
        }
    }

    [Fact]
    public void NoiseScheduleIsTheReferenceTable()
    {
        var table = AddNoiseReference.Table("alphas_cumprod");
        foreach (var className in AddNoiseReference.Classes)
            Assert.Equal(table, ((SchedulerBase)AddNoiseReference.Create(className)).NoiseSchedule.AlphasCumprod);
    }

    /// <summary>
    /// DDIM, DDPM and PNDM have no set_begin_index in diffusers: calling ours records the index but changes neither
    /// add_noise (still the timestep's ᾱ: the reference of the timestep passed) nor the step.
    /// </summary>
    [Theory]
    [InlineData("DDIMScheduler")]
    [InlineData("DDPMScheduler")]
    [InlineData("PNDMScheduler")]
    public void BeginIndexIsHarmlessWhereDiffusersHasNone(string className)
    {
        var reference = AddNoiseReference.Variant(className, "no_begin_index");
        int k = AddNoiseReference.Ints(reference.GetProperty("timestep_indices"))[2];
        var scheduler = AddNoiseReference.Create(className);
        scheduler.SetBeginIndex(1);
        Assert.Equal(1, scheduler.BeginIndex);
        var actual = AddNoiseOne(scheduler, scheduler.Timesteps[k]);
        AssertClose(AddNoiseReference.Expected(reference).AsSpan(2 * actual.Length, actual.Length), actual);

        var shape = AddNoiseReference.Image;
        var plain = AddNoiseReference.Create(className);
        var a = AddNoiseReference.Table("noise")[..shape.Length];
        var b = (float[])a.Clone();
        var eps = a.Select(v => 0.1f * v).ToArray();
        scheduler.Step(eps, scheduler.Timesteps[0], a, shape, [new TorchGenerator(5)]);
        plain.Step(eps, plain.Timesteps[0], b, shape, [new TorchGenerator(5)]);
        Assert.Equal(b, a);
        Assert.Null(scheduler.StepIndex);
    }

    /// <summary>diffusers' VP solvers map a timestep missing from the schedule to the last index: the reference at timesteps[-1].</summary>
    [Theory]
    [MemberData(nameof(VpSolverNames))]
    public void VpSolversTakeTheLastIndexForAnUnknownTimestep(string className)
    {
        var reference = AddNoiseReference.Variant(className, "no_begin_index");
        var indices = AddNoiseReference.Ints(reference.GetProperty("timestep_indices"));
        var scheduler = AddNoiseReference.Create(className);
        Assert.Equal(scheduler.Timesteps.Count - 1, indices[3]);
        Assert.DoesNotContain(7.0, scheduler.Timesteps);
        var actual = AddNoiseOne(scheduler, 7);
        AssertClose(AddNoiseReference.Expected(reference).AsSpan(3 * actual.Length, actual.Length), actual);
    }

    public static TheoryData<string> VpSolverNames() => new(VpSolvers);

    [Fact]
    public void SigmaSchedulersRejectAnUnknownTimestepWithoutBeginIndex()
    {
        var scheduler = AddNoiseReference.Create("EulerDiscreteScheduler");
        var ex = Assert.Throws<ArgumentException>(() => AddNoiseOne(scheduler, 7));
        Assert.Equal("timestep", ex.ParamName);
        scheduler.SetBeginIndex(3); // the timestep is then ignored
        AddNoiseOne(scheduler, 7);
        scheduler.SetBeginIndex(scheduler.Sigmas!.Count);
        Assert.Throws<InvalidOperationException>(() => AddNoiseOne(scheduler, 7));
    }

    [Fact]
    public void SigmaSchedulersNeedSetTimesteps()
    {
        foreach (var name in new[] { "EulerDiscreteScheduler", "UniPCMultistepScheduler" })
        {
            var scheduler = SchedulerRegistry.Create(name);
            Assert.Throws<InvalidOperationException>(() => AddNoiseOne(scheduler, 999));
        }
    }

    /// <summary>The ᾱ classes need only the table: before set_timesteps too, any integral training timestep.</summary>
    [Fact]
    public void AlphaSchedulersNoiseAnyTrainingTimestep()
    {
        var entry = AddNoiseReference.Entry("DDIMScheduler");
        var reference = AddNoiseReference.Variant("DDIMScheduler", "off_schedule");
        var scheduler = SchedulerRegistry.Create("DDIMScheduler", SchedulerConfig.Parse(entry.GetProperty("config").GetRawText()));
        var actual = AddNoiseOne(scheduler, 500);
        Assert.Equal(500, AddNoiseReference.Ints(reference.GetProperty("timesteps"))[1]);
        AssertClose(AddNoiseReference.Expected(reference).AsSpan(actual.Length, actual.Length), actual);
        foreach (double t in new[] { -1, 1000, 0.5, double.NaN })
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => AddNoiseOne(scheduler, t));
            Assert.Equal("timesteps", ex.ParamName);
        }
    }

    [Fact]
    public void SetTimestepsClearsBeginAndStepIndex()
    {
        var scheduler = AddNoiseReference.Create("EulerDiscreteScheduler");
        scheduler.SetBeginIndex(2);
        var x = new float[AddNoiseReference.Image.Length];
        scheduler.Step(x, scheduler.Timesteps[2], x, AddNoiseReference.Image);
        Assert.Equal(3, scheduler.StepIndex);
        scheduler.SetTimesteps(10);
        Assert.Null(scheduler.BeginIndex);
        Assert.Null(scheduler.StepIndex);
    }

    /// <summary>A single timestep applies to every row (torch broadcasting), like passing it once per row.</summary>
    [Theory]
    [InlineData("DDIMScheduler")]
    [InlineData("HeunDiscreteScheduler")]
    [InlineData("DEISMultistepScheduler")]
    public void OneTimestepBroadcastsOverTheBatch(string className)
    {
        var scheduler = AddNoiseReference.Create(className);
        var x0 = AddNoiseReference.Table("x0");
        var noise = AddNoiseReference.Table("noise");
        double t = scheduler.Timesteps[4];
        var once = new float[x0.Length];
        var perRow = new float[x0.Length];
        scheduler.AddNoise(x0, noise, [t], once);
        scheduler.AddNoise(x0, noise, [t, t], perRow);
        Assert.Equal(perRow, once);
    }

    [Theory]
    [InlineData("DDPMScheduler")]
    [InlineData("LMSDiscreteScheduler")]
    [InlineData("DPMSolverMultistepScheduler")]
    public void DestinationMayBeAnInputButNotOverlapOne(string className)
    {
        var scheduler = AddNoiseReference.Create(className);
        var x0 = AddNoiseReference.Table("x0");
        var noise = AddNoiseReference.Table("noise");
        double[] timesteps = [scheduler.Timesteps[3], scheduler.Timesteps[12]];
        var separate = new float[x0.Length];
        scheduler.AddNoise(x0, noise, timesteps, separate);

        var intoSamples = (float[])x0.Clone();
        scheduler.AddNoise(intoSamples, noise, timesteps, intoSamples);
        Assert.Equal(separate, intoSamples);
        var intoNoise = (float[])noise.Clone();
        scheduler.AddNoise(x0, intoNoise, timesteps, intoNoise);
        Assert.Equal(separate, intoNoise);

        var buffer = new float[x0.Length + 1];
        x0.CopyTo(buffer, 0);
        var ex = Assert.Throws<ArgumentException>(() =>
            scheduler.AddNoise(buffer.AsSpan(0, x0.Length), noise, timesteps, buffer.AsSpan(1, x0.Length)));
        Assert.Equal("destination", ex.ParamName);
    }

    [Fact]
    public void MismatchedLengthsThrow()
    {
        var scheduler = AddNoiseReference.Create("EulerDiscreteScheduler");
        var x = new float[256];
        double t = scheduler.Timesteps[0];
        Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, new float[255], [t], x));
        Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, x, [t], new float[255]));
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, x, [], new float[256])).ParamName);
        Assert.Equal("timesteps", Assert.Throws<ArgumentException>(() => scheduler.AddNoise(x, x, [t, t, t], new float[256])).ParamName);
    }

    [Fact]
    public void AddNoiseIsAllocationFree()
    {
        var x0 = AddNoiseReference.Table("x0");
        var noise = AddNoiseReference.Table("noise");
        var destination = new float[x0.Length];
        foreach (var className in AddNoiseReference.Classes)
        {
            var scheduler = AddNoiseReference.Create(className);
            var timesteps = new[] { scheduler.Timesteps[2], scheduler.Timesteps[5] };
            scheduler.AddNoise(x0, noise, timesteps, destination);
            long before = GC.GetAllocatedBytesForCurrentThread();
            scheduler.AddNoise(x0, noise, timesteps, destination);
            scheduler.SetBeginIndex(1);
            scheduler.AddNoise(x0, noise, timesteps, destination);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    /// <summary>Runs a variant as the manifest describes it, the outputs laid out as its file.</summary>
    private static float[] Reproduce(string className, string variant, JsonElement reference)
    {
        var parts = new List<float[]>();
        switch (variant)
        {
            case "no_begin_index":
            {
                var indices = AddNoiseReference.Ints(reference.GetProperty("timestep_indices"));
                var passed = AddNoiseReference.Doubles(reference.GetProperty("timesteps"));
                for (int j = 0; j < indices.Length; j++)
                {
                    var scheduler = AddNoiseReference.Create(className);
                    double t = scheduler.Timesteps[indices[j]];
                    Assert.Equal((float)passed[j], (float)t);
                    Assert.Null(scheduler.BeginIndex);
                    parts.Add(AddNoiseOne(scheduler, t));
                }
                break;
            }
            case "per_sample":
            {
                var scheduler = AddNoiseReference.Create(className);
                var indices = AddNoiseReference.Ints(reference.GetProperty("timestep_indices"));
                var timesteps = indices.Select(k => scheduler.Timesteps[k]).ToArray();
                Assert.Equal(AddNoiseReference.Floats(reference.GetProperty("timesteps")), timesteps.Select(t => (float)t));
                var x0 = AddNoiseReference.Table("x0");
                var result = new float[x0.Length];
                scheduler.AddNoise(x0, AddNoiseReference.Table("noise"), timesteps, result);
                parts.Add(result);
                break;
            }
            case "begin_index":
            {
                var begins = AddNoiseReference.Ints(reference.GetProperty("begin_indices"));
                var passed = AddNoiseReference.Doubles(reference.GetProperty("timesteps"));
                for (int j = 0; j < begins.Length; j++)
                {
                    var scheduler = AddNoiseReference.Create(className);
                    scheduler.SetBeginIndex(begins[j]);
                    Assert.Equal(begins[j], scheduler.BeginIndex);
                    double t = scheduler.Timesteps[begins[j]];
                    Assert.Equal((float)passed[j], (float)t);
                    parts.Add(AddNoiseOne(scheduler, t));
                }
                break;
            }
            case "begin_index_timestep_ignored":
            {
                var scheduler = AddNoiseReference.Create(className);
                scheduler.SetBeginIndex(reference.GetProperty("begin_index").GetInt32());
                double t = scheduler.Timesteps[reference.GetProperty("timestep_index_passed").GetInt32()];
                Assert.Equal((float)reference.GetProperty("timestep_passed").GetDouble(), (float)t);
                parts.Add(AddNoiseOne(scheduler, t));
                break;
            }
            case "after_step":
            {
                foreach (var run in reference.GetProperty("runs").EnumerateArray())
                {
                    var scheduler = AddNoiseReference.Create(className);
                    int k = run.GetProperty("begin_index").GetInt32();
                    scheduler.SetBeginIndex(k);
                    double t = scheduler.Timesteps[k];
                    Assert.Equal((float)run.GetProperty("step_timestep").GetDouble(), (float)t);
                    FakeStep(scheduler, t);
                    Assert.Equal(run.GetProperty("step_index_after_step").GetInt32(), scheduler.StepIndex);
                    double next = scheduler.Timesteps[run.GetProperty("add_noise_timestep_index").GetInt32()];
                    Assert.Equal((float)run.GetProperty("add_noise_timestep").GetDouble(), (float)next);
                    parts.Add(AddNoiseOne(scheduler, next));
                }
                break;
            }
            case "off_schedule":
            {
                foreach (int t in AddNoiseReference.Ints(reference.GetProperty("timesteps")))
                    parts.Add(AddNoiseOne(AddNoiseReference.Create(className), t));
                break;
            }
            default:
                throw new InvalidOperationException($"Unknown add_noise variant '{variant}'.");
        }
        return parts.SelectMany(p => p).ToArray();
    }

    /// <summary>add_noise(x0[:1], noise[:1], tensor([t])).</summary>
    private static float[] AddNoiseOne(IScheduler scheduler, double timestep)
    {
        int n = AddNoiseReference.Image.Length;
        var result = new float[n];
        scheduler.AddNoise(AddNoiseReference.Table("x0").AsSpan(0, n), AddNoiseReference.Table("noise").AsSpan(0, n), [timestep], result);
        return result;
    }

    /// <summary>
    /// The manifest's step before add_noise: x = noise[:1]·init_noise_sigma, then
    /// step(0.1·scale_model_input(x, t), t, x, generator = manual_seed(1000)).
    /// </summary>
    private static void FakeStep(IScheduler scheduler, double timestep)
    {
        var shape = AddNoiseReference.Image;
        var x = AddNoiseReference.Table("noise")[..shape.Length];
        for (int i = 0; i < x.Length; i++) x[i] *= scheduler.InitNoiseSigma;
        var eps = (float[])x.Clone();
        scheduler.ScaleModelInput(eps, timestep);
        for (int i = 0; i < eps.Length; i++) eps[i] *= 0.1f;
        scheduler.Step(eps, timestep, x, shape, [new TorchGenerator(1000)]);
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double max = MaxAbsDifference(expected, actual);
        Assert.True(max <= Tolerance, $"add_noise off by {max:G3} (tolerance {Tolerance:G3}).");
    }

    private static double MaxAbsDifference(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            max = Math.Max(max, d);
        }
        return max;
    }
}
