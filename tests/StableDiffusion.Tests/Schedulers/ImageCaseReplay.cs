using System.Text.Json;
using StableDiffusion.Random;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Pipeline;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// What the image-to-image and inpainting step replays share: a case of a diffusers 0.35.2 pipeline manifest
/// (expected/img2img-diffusers-0.35, expected/inpaint-diffusers-0.35), its scheduler, its files, and its generators
/// advanced past the draws made before the denoising loop (VAE samples, the noise) as the manifest's draw order lists them.
/// </summary>
public sealed class ImageCaseReplay
{
    private readonly PipelineCase _case;

    public ImageCaseReplay(string folder, string caseId)
    {
        _case = PipelineCase.Load(folder).Single(c => c.Id == caseId);
        Case = _case.Raw;
        var sched = Case.GetProperty("scheduler");
        Scheduler = SchedulerRegistry.Create(sched.GetProperty("class").GetString()!, SchedulerConfig.Parse(sched.GetProperty("config").GetRawText()));
        Scheduler.SetTimesteps(Case.GetProperty("num_inference_steps").GetInt32());
        Assert.Equal(sched.GetProperty("order").GetInt32(), Scheduler.Order);
        int[] dims = AddNoiseReference.Ints(Case.GetProperty("files").GetProperty("start_latents").GetProperty("shape"));
        Shape = new LatentShape(dims[0], dims[1], dims[2], dims[3]);

        var seeds = Case.GetProperty("seed").ValueKind == JsonValueKind.Array
            ? Case.GetProperty("seed").EnumerateArray().Select(e => e.GetUInt64()).ToArray()
            : [Case.GetProperty("seed").GetUInt64()];
        Generators = seeds.Select(s => (IRandomGenerator)new TorchGenerator(s)).ToList();
        var noise = new List<float>();
        foreach (var draw in Case.GetProperty("draw_order").EnumerateArray().Where(d => d.GetProperty("iteration").ValueKind == JsonValueKind.Null))
        {
            var values = new float[AddNoiseReference.Ints(draw.GetProperty("shape")).Aggregate(1, (n, d) => n * d)];
            Generators[draw.GetProperty("generator_index").GetInt32()].Randn(values);
            if (draw.GetProperty("purpose").GetString()!.StartsWith("noise(")) noise.AddRange(values);
        }
        Noise = noise.ToArray();
        Assert.Equal(Read("noise"), Noise);

        // diffusers' strength mapping: the loop runs timesteps[t_start·order:]; the begin index goes to the classes with set_begin_index.
        Start = Case.GetProperty("strength_mapping").GetProperty("t_start").GetInt32() * Scheduler.Order;
        Timesteps = Scheduler.Timesteps.Skip(Start).ToArray();
        Assert.Equal(AddNoiseReference.Floats(Case.GetProperty("timesteps_used")), Timesteps.Select(t => (float)t));
        var after = sched.GetProperty("begin_index_after_run");
        ExpectedBeginIndex = after.ValueKind == JsonValueKind.Null ? null : after.GetInt32();
    }

    /// <summary>The ids of the cases of the manifest in <paramref name="folder"/> that <paramref name="where"/> selects (all by default).</summary>
    public static TheoryData<string> CaseIds(string folder, Func<JsonElement, bool>? where = null) =>
        new(PipelineCase.Load(folder).Where(c => where?.Invoke(c.Raw) ?? true).Select(c => c.Id));

    public JsonElement Case { get; }
    public IScheduler Scheduler { get; }
    public LatentShape Shape { get; }
    public List<IRandomGenerator> Generators { get; }

    /// <summary>The noise of prepare_latents, as drawn here (checked against the case's file).</summary>
    public float[] Noise { get; }

    /// <summary>The index of the first timestep of the loop (t_start·order).</summary>
    public int Start { get; }

    /// <summary>The loop's timesteps.</summary>
    public double[] Timesteps { get; }

    /// <summary>The scheduler's begin_index once the pipeline has run (null for the classes without set_begin_index).</summary>
    public int? ExpectedBeginIndex { get; }

    public double Eta => _case.Eta;

    /// <summary>Sets the begin index as the pipeline does, where the class has set_begin_index (diffusers' hasattr check).</summary>
    public void SetBeginIndexLikeThePipeline()
    {
        if (ExpectedBeginIndex is null) return;
        Assert.Equal(Start, ExpectedBeginIndex);
        Scheduler.SetBeginIndex(Start);
    }

    /// <summary>A file of the case.</summary>
    public float[] Read(string name) => _case.F32(name);

    /// <summary>ScaleModelInput of <paramref name="copies"/> copies of <paramref name="latents"/> (the CFG batch), compared with iteration <paramref name="i"/> of unet_input_sample.</summary>
    public double ScaledInputError(float[] unetInput, int i, ReadOnlySpan<float> latents, int copies)
    {
        int n = Shape.Length;
        var modelInput = new float[copies * n];
        for (int k = 0; k < copies; k++) latents.CopyTo(modelInput.AsSpan(k * n, n));
        Scheduler.ScaleModelInput(modelInput, Timesteps[i]);
        return TrajectoryAssert.MaxError(unetInput.AsSpan(i * copies * n, copies * n), modelInput);
    }
}
