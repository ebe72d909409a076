using System.Text.Json;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>
/// The diffusers 0.35.2 <c>add_noise</c> references (expected/img2img-diffusers-0.35/add_noise/manifest.json): per
/// scheduler class its config, schedule and variants, each with the inputs it used and a raw float32 file of outputs;
/// the shared x0 [2,4,8,8], noise [2,4,8,8] and alphas_cumprod [1000] tables.
/// </summary>
public static class AddNoiseReference
{
    /// <summary>One latent image of the references: [1, 4, 8, 8].</summary>
    public static readonly LatentShape Image = new(1, 4, 8, 8);

    private static readonly Lazy<JsonDocument> _manifest = new(() => Fixtures.ReadJson(Folder, "manifest.json"));

    private const string Folder = "img2img-diffusers-0.35/add_noise";

    public static JsonElement Manifest => _manifest.Value.RootElement;

    /// <summary>A stored array, by the manifest's relative file name.</summary>
    public static float[] Read(string file) => Fixtures.ReadF32(Fixtures.ExpectedPath([.. Folder.Split('/'), .. file.Split('/')]));

    /// <summary>A shared table of <c>files</c> (x0, noise, alphas_cumprod), its length checked against the recorded shape.</summary>
    public static float[] Table(string name)
    {
        var file = Manifest.GetProperty("files").GetProperty(name);
        var values = Read(file.GetProperty("file").GetString()!);
        Assert.Equal(file.GetProperty("shape").EnumerateArray().Aggregate(1, (n, d) => n * d.GetInt32()), values.Length);
        return values;
    }

    /// <summary>The class names of the references.</summary>
    public static IEnumerable<string> Classes =>
        Manifest.GetProperty("schedulers").EnumerateArray().Select(s => s.GetProperty("class").GetString()!);

    /// <summary>The manifest entry of <paramref name="className"/>.</summary>
    public static JsonElement Entry(string className) =>
        Manifest.GetProperty("schedulers").EnumerateArray().Single(s => s.GetProperty("class").GetString() == className);

    /// <summary>A variant of <paramref name="className"/> (no_begin_index, per_sample, begin_index, …).</summary>
    public static JsonElement Variant(string className, string variant) => Entry(className).GetProperty("variants").GetProperty(variant);

    /// <summary>The expected outputs of a variant, their length checked against the recorded shape.</summary>
    public static float[] Expected(JsonElement variant)
    {
        var file = variant.GetProperty("file");
        var values = Read(file.GetProperty("file").GetString()!);
        Assert.Equal(file.GetProperty("shape").EnumerateArray().Aggregate(1, (n, d) => n * d.GetInt32()), values.Length);
        return values;
    }

    /// <summary>
    /// A fresh scheduler of the entry (<c>from_config(config)</c>, <c>set_timesteps(num_inference_steps)</c>), checked to
    /// have the recorded order, timesteps and sigmas (float32, exactly) so that every variant starts from diffusers' schedule.
    /// One exception, known and outside add_noise: KDPM2's interpolated (midpoint) timesteps, at the odd positions, may be
    /// 1 ulp off (one of them is, in each of the two classes); the variants only pass the exact even-position ones.
    /// </summary>
    public static IScheduler Create(string className)
    {
        var entry = Entry(className);
        var scheduler = SchedulerRegistry.Create(className, SchedulerConfig.Parse(entry.GetProperty("config").GetRawText()));
        scheduler.SetTimesteps(entry.GetProperty("num_inference_steps").GetInt32());
        Assert.Equal(entry.GetProperty("order").GetInt32(), scheduler.Order);
        var timesteps = Floats(entry.GetProperty("timesteps"));
        Assert.Equal(timesteps.Length, scheduler.Timesteps.Count);
        bool midpoints = scheduler is KDpm2SchedulerBase;
        for (int i = 0; i < timesteps.Length; i++)
            Assert.True(TrajectoryAssert.UlpDistance(timesteps[i], (float)scheduler.Timesteps[i]) <= (midpoints && i % 2 == 1 ? 1 : 0),
                $"{className}: timestep[{i}] = {scheduler.Timesteps[i]:R}, diffusers {timesteps[i]:R}.");
        if (entry.GetProperty("sigmas").ValueKind == JsonValueKind.Null) Assert.Null(scheduler.Sigmas);
        else Assert.Equal(Floats(entry.GetProperty("sigmas")), scheduler.Sigmas!);
        return scheduler;
    }

    public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();
    public static double[] Doubles(JsonElement array) => array.EnumerateArray().Select(e => e.GetDouble()).ToArray();
    public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
}
