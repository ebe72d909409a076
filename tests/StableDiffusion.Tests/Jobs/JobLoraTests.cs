using System.Text.Json;
using StableDiffusion.Imaging;
using StableDiffusion.Jobs;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>A job's Loras, LoraPath and EmbeddingPath keys: validation problems at their keys, identity and metadata.</summary>
public sealed class JobLoraTests : IDisposable
{
    private static readonly string LoraFixtures = Path.Combine(Fixtures.Root, "tiny-sd-lora");
    private readonly JobScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>Copies a fixture file into the job's folder (relative paths start there) and returns the relative name.</summary>
    private string Copy(string fixture, string asName)
    {
        string target = _scratch.PathIn(asName);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(Path.Combine(LoraFixtures, fixture), target, overwrite: true);
        return asName;
    }

    private string Job(string adapters, string model = "") => $$"""
        {
          "Model": {{(model.Length == 0 ? JobScratch.Model : model)}},
          {{adapters}}
          "Defaults": { "Steps": 2, "Seeds": 1, "Width": 64, "Height": 64 },
          "Prompts": [ "a fox" ],
          "OutputDirectory": "out"
        }
        """;

    private static JobProblem At(IReadOnlyList<JobProblem> problems, string location) => Assert.Single(problems, p => p.Location == location);

    [Fact]
    public void LorasResolveAgainstTheJobFolderWithTheirWeights()
    {
        Copy("tiny_lora_a.kohya.fp16.safetensors", "loras/a.safetensors");
        Copy("tiny_lora_b.kohya.fp32.safetensors", "loras/b.safetensors");
        var job = _scratch.Validate(Job("""
            "Loras": [ "loras/a.safetensors", { "Path": "loras/b.safetensors", "Weight": 0.8, "TextEncoderWeight": 0.5 } ],
            """));
        Assert.Equal([_scratch.PathIn("loras", "a.safetensors"), _scratch.PathIn("loras", "b.safetensors")], job.Loras.Select(l => l.Entry.Path));
        Assert.Equal([1f, 0.8f], job.Loras.Select(l => l.Entry.Weight));
        Assert.Equal([1f, 0.5f], job.Loras.Select(l => l.Entry.TextEncoderWeight));
        string hashA = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(_scratch.PathIn("loras", "a.safetensors")))).ToLowerInvariant();
        Assert.Equal(hashA, job.Loras[0].Sha256);
        // Recorded as name:weight (short hash); the text encoder's weight after a second colon when it differs.
        Assert.StartsWith($"a:1 ({hashA[..12]}), b:0.8:0.5 (", job.Items[0].Expected.Loras);
    }

    [Fact]
    public void MissingPickleBrokenAndNonNumericLorasAreProblemsAtTheirKeysWithLines()
    {
        _scratch.Write("style.pt", "not a safetensors file");
        _scratch.Write("broken.safetensors", "garbage that is no safetensors header");
        var problems = _scratch.Problems(Job("""
            "Loras": [
              "nowhere.safetensors",
              "style.pt",
              "broken.safetensors",
              { "Path": "nowhere.safetensors", "Weight": "NaN" },
              { "Weight": 1 }
            ],
            """));
        Assert.Contains("does not exist", At(problems, "Loras[0]").Message);
        Assert.Equal(4, At(problems, "Loras[0]").Line);
        Assert.Contains("cannot be used", At(problems, "Loras[1]").Message);
        Assert.Contains("cannot be used", At(problems, "Loras[2]").Message);
        Assert.Contains("Weight must be a number", At(problems, "Loras[3].Weight").Message);
        Assert.Contains("Path is required", At(problems, "Loras[4].Path").Message);
    }

    [Fact]
    public void AnSd15LoraForAnSdxlModelIsRefusedAtValidation()
    {
        string sdxl = JsonSerializer.Serialize(Path.Combine(Fixtures.Root, "tiny-sdxl"));
        var problems = _scratch.Problems(Job($"\"Loras\": [ {JsonSerializer.Serialize(Path.Combine(LoraFixtures, "tiny_lora_a.kohya.fp16.safetensors"))} ],", sdxl));
        Assert.Contains("SD 1.x/2.x LoRA", At(problems, "Loras[0]").Message);
    }

    [Fact]
    public void TheSameLoraTwiceIsAProblem()
    {
        Copy("tiny_lora_a.kohya.fp16.safetensors", "a.safetensors");
        var problems = _scratch.Problems(Job("""
            "Loras": [ "a.safetensors", { "Path": "a.safetensors", "Weight": 0.5 } ],
            """));
        Assert.Contains("listed twice", At(problems, "Loras[1]").Message);
    }

    [Fact]
    public void LoraPathFoldersMustExistAndBeFolders()
    {
        _scratch.Write("file.txt", "x");
        Directory.CreateDirectory(_scratch.PathIn("loras"));
        var problems = _scratch.Problems(Job("""
            "LoraPath": [ "loras", "missing", "file.txt" ],
            """));
        Assert.Equal(2, problems.Count);
        Assert.Contains("does not exist", At(problems, "LoraPath[1]").Message);
        Assert.Contains("is a file", At(problems, "LoraPath[2]").Message);
        Assert.Equal([_scratch.PathIn("loras")], _scratch.Validate(Job("\"LoraPath\": \"loras\",")).LoraFolders);
    }

    [Fact]
    public void EmbeddingFoldersExpandToTheirFilesWithFileNameTokens()
    {
        Copy("tiny-style.a1111.safetensors", "embeddings/tiny-style.safetensors");
        Directory.CreateDirectory(_scratch.PathIn("empty"));
        var job = _scratch.Validate(Job("\"EmbeddingPath\": [ \"embeddings\" ],"));
        var e = Assert.Single(job.Embeddings);
        Assert.Equal(_scratch.PathIn("embeddings", "tiny-style.safetensors"), e.Path);
        Assert.Equal("tiny-style", e.Token);

        var problems = _scratch.Problems(Job("\"EmbeddingPath\": [ \"empty\", \"missing\", 5 ],"));
        Assert.Contains("holds no .safetensors file", At(problems, "EmbeddingPath[0]").Message);
        Assert.Contains("does not exist", At(problems, "EmbeddingPath[1]").Message);
        Assert.Contains("non-empty path", At(problems, "EmbeddingPath[2]").Message);
    }

    [Fact]
    public void AChangedLoraWeightOrFileContentIsAnotherRender()
    {
        Copy("tiny_lora_a.kohya.fp16.safetensors", "a.safetensors");
        string Identity(string adapters) => _scratch.Validate(Job(adapters)).Items[0].Identity;

        string none = Identity("");
        string full = Identity("\"Loras\": [ \"a.safetensors\" ],");
        string half = Identity("\"Loras\": [ { \"Path\": \"a.safetensors\", \"Weight\": 0.5 } ],");
        string teHalf = Identity("\"Loras\": [ { \"Path\": \"a.safetensors\", \"TextEncoderWeight\": 0.5 } ],");
        Assert.Equal(4, new[] { none, full, half, teHalf }.Distinct().Count());
        // No LoRA: the identity of a job without the key (version 1 identities stay valid).
        Assert.Equal(RenderIdentity.Compute(_scratch.Validate(Job("\"Loras\": [],")).Items[0].Expected), none);

        // Same name, other bytes (a retrained file): another identity. Same bytes under another name: the same render.
        Copy("tiny_lora_a.kohya.fp32.safetensors", "a.safetensors");
        Assert.NotEqual(full, Identity("\"Loras\": [ \"a.safetensors\" ],"));
        Copy("tiny_lora_a.kohya.fp16.safetensors", "renamed.safetensors");
        Assert.Equal(full, Identity("\"Loras\": [ \"renamed.safetensors\" ],"));
    }

    [Fact]
    public void AnEmbeddingChangesTheIdentity()
    {
        Copy("tiny-style.a1111.safetensors", "embeddings/tiny-style.safetensors");
        string none = _scratch.Validate(Job("")).Items[0].Identity;
        string with = _scratch.Validate(Job("\"EmbeddingPath\": \"embeddings\",")).Items[0].Identity;
        Assert.NotEqual(none, with);
    }

    [Fact]
    public void TheLorasFieldRoundTripsThroughBothMetadataForms()
    {
        var p = new GenerationParameters { Prompt = "a fox", Seed = 1, Steps = 2, Width = 64, Height = 64, Loras = "a:0.8 (0123456789ab), b:1:0.5 (ba9876543210)" };
        Assert.Equal(p.Loras, GenerationParameters.FromJson(p.ToJson()).Loras);
        Assert.Contains("Loras: \"a:0.8 (0123456789ab), b:1:0.5 (ba9876543210)\"", p.ToText());
        Assert.Equal(p.Loras, GenerationParameters.Parse(new Dictionary<string, string> { [GenerationParameters.TextKey] = p.ToText() }).Loras);
        Assert.Null(GenerationParameters.FromJson((p with { Loras = null }).ToJson()).Loras);
    }

    [Fact]
    public void TheEngineFusesTheJobsLorasAndLoadsItsEmbeddingsBeforeTheFirstImage()
    {
        Copy("tiny_lora_a.kohya.fp16.safetensors", "a.safetensors");
        Copy("tiny-style.a1111.safetensors", "embeddings/tiny-style.safetensors");
        var job = _scratch.Validate(Job("""
            "Provider": "Cpu", "Loras": [ { "Path": "a.safetensors", "Weight": 0.5 } ], "LoraPath": ".", "EmbeddingPath": "embeddings",
            """));
        using var engine = PipelineRenderEngine.Load(job);
        var lora = Assert.Single(engine.Pipeline.Loras);
        Assert.Equal(("a", 0.5f), (lora.Name, lora.Weight));
        Assert.Equal("tiny-style", Assert.Single(engine.Pipeline.Embeddings).Token);
        Assert.Equal([_scratch.Folder], engine.Pipeline.LoraLibrary.Folders);
    }
}
