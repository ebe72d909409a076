using System.Text.Json;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Schedulers;

/// <summary>One run of expected/schedulers/manifest_diffusers-*.json.</summary>
public sealed record SchedulerRun(
    string Version,
    string Scheduler,
    string ClassName,
    int Steps,
    SchedulerConfig? Config,
    double[] Timesteps,
    float[]? Sigmas,
    double InitNoiseSigma,
    int Order,
    string? LatentsFile,
    string? ScaledInputsFile,
    double? Eta,
    string? Error)
{
    public string Id => $"{Version}/{Scheduler}/n{Steps}";
    public override string ToString() => Id;
}

/// <summary>Reads the scheduler trajectory manifests.</summary>
public static class SchedulerRuns
{
    public static readonly string[] Versions = ["0.12.0", "0.35.2"];

    private static readonly Lazy<IReadOnlyList<SchedulerRun>> _all = new(LoadAll);

    public static IReadOnlyList<SchedulerRun> All => _all.Value;

    public static SchedulerRun Get(string version, string scheduler, int steps) =>
        All.Single(r => r.Version == version && r.Scheduler == scheduler && r.Steps == steps);

    private static IReadOnlyList<SchedulerRun> LoadAll()
    {
        var runs = new List<SchedulerRun>();
        foreach (var version in Versions)
        {
            using var doc = Fixtures.ReadJson("schedulers", $"manifest_diffusers-{version}.json");
            foreach (var run in doc.RootElement.GetProperty("runs").EnumerateArray())
            {
                string? error = run.TryGetProperty("error", out var e) ? e.ToString() : null;
                SchedulerConfig? config = run.TryGetProperty("config", out var c) ? SchedulerConfig.Parse(c.GetRawText()) : null;
                double[] timesteps = run.TryGetProperty("timesteps", out var ts) && ts.ValueKind == JsonValueKind.Array
                    ? ts.EnumerateArray().Select(ReadNumber).ToArray() : [];
                float[]? sigmas = run.TryGetProperty("sigmas", out var s) && s.ValueKind == JsonValueKind.Array
                    ? s.EnumerateArray().Select(x => (float)ReadNumber(x)).ToArray() : null;
                string? latents = null, scaled = null;
                if (run.TryGetProperty("files", out var files) && files.ValueKind == JsonValueKind.Object)
                {
                    latents = Fixtures.ExpectedPath("schedulers", files.GetProperty("latents").GetProperty("file").GetString()!);
                    scaled = Fixtures.ExpectedPath("schedulers", files.GetProperty("scaled_model_inputs").GetProperty("file").GetString()!);
                }
                runs.Add(new SchedulerRun(
                    version,
                    run.GetProperty("scheduler").GetString()!,
                    run.GetProperty("class").GetString()!,
                    run.GetProperty("num_inference_steps").GetInt32(),
                    config,
                    timesteps,
                    sigmas,
                    run.TryGetProperty("init_noise_sigma", out var ins) && ins.ValueKind != JsonValueKind.Null ? ReadNumber(ins) : double.NaN,
                    run.TryGetProperty("order", out var o) && o.ValueKind == JsonValueKind.Number ? o.GetInt32() : 0,
                    latents,
                    scaled,
                    run.TryGetProperty("eta", out var eta) ? eta.GetDouble() : null,
                    error));
            }
        }
        return runs;
    }

    private static double ReadNumber(JsonElement e) => e.ValueKind == JsonValueKind.String
        ? e.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var other => throw new FormatException($"Unexpected number string '{other}'."),
        }
        : e.GetDouble();
}
