using System.Text.Json;
using System.Text.Json.Nodes;
using StableDiffusion.Models;

namespace StableDiffusion.Schedulers;

/// <summary>
/// Reads a model folder's <c>scheduler/scheduler_config.json</c> and checks it on load: the noise-schedule numbers are
/// finite and in the range of any trained model, and the class is one this library has. Each error names the file.
/// </summary>
public static class ModelSchedulerConfig
{
    /// <summary>Loads and checks the file.</summary>
    /// <param name="path">The scheduler_config.json of a model folder.</param>
    /// <param name="checkClassName">False when the caller names the scheduler itself, so the file's class does not matter.</param>
    /// <exception cref="ModelLoadException">The file is not JSON, a value is out of range, or the class is unknown.</exception>
    public static SchedulerConfig Load(string path, bool checkClassName = true)
    {
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("the top level is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, path, $"'{path}' is not a valid scheduler configuration: {e.Message}", e);
        }
        // Every Stable Diffusion model trains on 1000 steps with betas 0.0001–0.02; these bounds leave room and exclude garbage.
        ConfigValue.Integer(json, path, "num_train_timesteps", 1, 100_000, "Stable Diffusion models use 1000.");
        ConfigValue.Number(json, path, "beta_start", 1e-8, 0.5, "Stable Diffusion 1.x uses 0.00085.");
        ConfigValue.Number(json, path, "beta_end", 1e-8, 0.999, "Stable Diffusion 1.x uses 0.012.");
        ConfigValue.Integer(json, path, "steps_offset", 0, 1000, "Stable Diffusion 1.x uses 1.");
        string? className = ConfigValue.Text(json, path, "_class_name");
        if (checkClassName && className is not null && !SchedulerRegistry.TryFind(className, out _))
            throw new ModelLoadException(ModelLoadError.InvalidFile, path,
                $"'{path}': \"_class_name\" is '{className}', a scheduler this module does not have. Set it to one of " +
                $"{string.Join(", ", SchedulerRegistry.Registrations.Select(r => r.ClassName))} (the model's exporter wrote " +
                "PNDMScheduler for Stable Diffusion 1.x), or name the scheduler when loading.");
        try
        {
            return SchedulerConfig.Parse(json.ToJsonString());
        }
        catch (FormatException e)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, path, $"'{path}' is not a valid scheduler configuration: {e.Message}", e);
        }
    }
}
