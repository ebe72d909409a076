using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Files;

/// <summary>Model configs are checked on load: a bad value is an error naming the file, the key and the accepted range.</summary>
public sealed class ModelConfigValidationTests : IDisposable
{
    private readonly FileScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private (string Model, string File) WithVaeConfig(string json)
    {
        string model = _scratch.CopyTinySd();
        string file = Path.Combine(model, "vae_decoder", "config.json");
        File.WriteAllText(file, json);
        return (model, file);
    }

    [Theory]
    [InlineData("""{ "scaling_factor": 0 }""", "\"scaling_factor\" is 0")]
    [InlineData("""{ "scaling_factor": "0.18215" }""", "\"scaling_factor\" is \"0.18215\"")]
    [InlineData("""{ "scaling_factor": 1e999 }""", "\"scaling_factor\" is 1e999")]
    [InlineData("""{ "scaling_factor": -0.18 }""", "\"scaling_factor\" is -0.18")]
    [InlineData("""{ "scaling_factor": 5000 }""", "\"scaling_factor\" is 5000")]
    [InlineData("""{ "shift_factor": "x" }""", "\"shift_factor\" is \"x\"")]
    [InlineData("""{ "block_out_channels": [] }""", "\"block_out_channels\" is []")]
    [InlineData("""{ "force_upcast": "yes" }""", "\"force_upcast\" is \"yes\"")]
    public void ABadVaeConfigValueNamesTheFileKeyAndRange(string json, string expected)
    {
        var (model, file) = WithVaeConfig(json);
        var e = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(model));
        Assert.Equal(ModelLoadError.InvalidFile, e.Error);
        Assert.Equal(file, e.Target);
        Assert.Contains($"'{file}': {expected}; it must be", e.Message);
    }

    [Fact]
    public void TheScalingFactorRangeIsStatedAndAGoodValueIsRead()
    {
        var (model, _) = WithVaeConfig("""{ "scaling_factor": 0 }""");
        Assert.Contains("a finite number from 0.000001 to 100", Assert.Throws<ModelLoadException>(() => ModelFolder.Open(model)).Message);
        File.WriteAllText(Path.Combine(model, "vae_decoder", "config.json"), """{ "scaling_factor": 0.13025 }""");
        Assert.Equal(0.13025f, ModelFolder.Open(model).ScalingFactor);
    }

    [Theory]
    [InlineData("sample_size", "0")]
    [InlineData("sample_size", "64.5")]
    [InlineData("in_channels", "\"4\"")]
    public void ABadUNetConfigValueIsRefused(string key, string value)
    {
        string model = _scratch.CopyTinySd();
        string file = Path.Combine(model, "unet", "config.json");
        File.WriteAllText(file, $$"""{ "{{key}}": {{value}} }""");
        var e = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(model));
        Assert.Equal(file, e.Target);
        Assert.Contains($"\"{key}\" is {value}; it must be a whole number", e.Message);
    }

    private string SchedulerWith(string key, string value)
    {
        string model = _scratch.CopyTinySd();
        string file = Path.Combine(model, "scheduler", "scheduler_config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        json[key] = System.Text.Json.Nodes.JsonNode.Parse(value);
        File.WriteAllText(file, json.ToJsonString());
        return file;
    }

    [Theory]
    [InlineData("beta_end", "\"high\"")]
    [InlineData("beta_start", "0")]
    [InlineData("beta_end", "2.5")]
    [InlineData("num_train_timesteps", "0")]
    [InlineData("num_train_timesteps", "1000.5")]
    public void ABadSchedulerNumberNamesTheFile(string key, string value)
    {
        string file = SchedulerWith(key, value);
        var e = Assert.Throws<ModelLoadException>(() => ModelSchedulerConfig.Load(file));
        Assert.Equal(file, e.Target);
        Assert.Contains($"'{file}': \"{key}\" is {value}", e.Message);
    }

    [Fact]
    public void AnUnknownSchedulerClassNamesTheFileUnlessTheCallerNamesTheScheduler()
    {
        string file = SchedulerWith("_class_name", "\"FancyNewScheduler\"");
        var e = Assert.Throws<ModelLoadException>(() => ModelSchedulerConfig.Load(file));
        Assert.Contains($"'{file}': \"_class_name\" is 'FancyNewScheduler'", e.Message);
        Assert.Contains("PNDMScheduler", e.Message);
        Assert.Equal("FancyNewScheduler", ModelSchedulerConfig.Load(file, checkClassName: false).ClassName);
    }

    [Fact]
    public void AnIndexNamingClassesWeDoNotRunGivesWarningsNotErrors()
    {
        string model = _scratch.CopyTinySd();
        string index = Path.Combine(model, "model_index.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(index))!.AsObject();
        json["_class_name"] = "StableDiffusion3Pipeline";
        json["transformer"] = new System.Text.Json.Nodes.JsonArray("diffusers", "SD3Transformer2DModel");
        json["unet"] = new System.Text.Json.Nodes.JsonArray("diffusers", "UNet2DConditionModelWithControlNet");
        File.WriteAllText(index, json.ToJsonString());
        var warnings = ModelFolder.Open(model).Warnings;
        Assert.Equal(3, warnings.Count);
        Assert.Contains(warnings, w => w.Contains("pipeline class 'StableDiffusion3Pipeline'"));
        Assert.Contains(warnings, w => w.Contains("component 'transformer' (SD3Transformer2DModel)"));
        Assert.Contains(warnings, w => w.Contains("'unet' the class 'UNet2DConditionModelWithControlNet'"));
    }

    [Theory]
    [InlineData("tiny-sd")]
    [InlineData("tiny-sdxl")]
    [InlineData("tiny-sdxl-refiner")]
    [InlineData("tiny-sd-inpaint")]
    public void TheFixturesLoadWithoutWarnings(string fixture) =>
        Assert.Empty(ModelFolder.Open(Path.Combine(Support.Fixtures.Root, fixture)).Warnings);

    [Fact]
    public void ASymlinkLoopIsCalledALoopNotAFile()
    {
        string a = _scratch.PathIn("a"), b = _scratch.PathIn("b");
        File.CreateSymbolicLink(a, b);
        File.CreateSymbolicLink(b, a);
        var e = Assert.Throws<ModelLoadException>(() => ModelFolder.Open(a));
        Assert.Contains("loops", e.Message);
        Assert.DoesNotContain("is a file", e.Message);
        var vae = Assert.Throws<ModelLoadException>(() => VaeFolder.Open(a));
        Assert.Contains("loops", vae.Message);
    }

    [Fact]
    public void ADanglingLinkSaysWhereItPoints()
    {
        string link = _scratch.PathIn("link");
        File.CreateSymbolicLink(link, _scratch.PathIn("gone"));
        Assert.Contains("which does not exist", Assert.Throws<ModelLoadException>(() => ModelFolder.Open(link)).Message);
    }
}
