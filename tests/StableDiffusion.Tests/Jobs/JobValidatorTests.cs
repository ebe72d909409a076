using StableDiffusion.Jobs;
using StableDiffusion.Models;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Jobs;

/// <summary>Validation and expansion of job files: what a job renders, and every problem with its location.</summary>
public sealed class JobValidatorTests : IDisposable
{
    private readonly JobScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static JobProblem At(IReadOnlyList<JobProblem> problems, string location) =>
        Assert.Single(problems, p => p.Location == location);

    [Fact]
    public void ExpandsPromptsSeedsAndImagesPerPromptInOrder()
    {
        var job = _scratch.Validate($$"""
            {
              "Model": {{JobScratch.Model}},
              "Defaults": { "Steps": 20, "Seeds": "10-11", "Width": 64, "Height": 64 },
              "Prompts": [ "a fox", { "Prompt": "a cat", "Seeds": [5, 20], "ImagesPerPrompt": 2, "Steps": 7 } ],
              "OutputDirectory": "out"
            }
            """);
        Assert.Equal(["a fox", "a fox", "a cat", "a cat", "a cat", "a cat"], job.Items.Select(i => i.Prompt));
        // Image j of a seed uses seed + j, as Invoke-SdGeneration does.
        Assert.Equal([10L, 11, 5, 6, 20, 21], job.Items.Select(i => i.Seed));
        Assert.Equal(Enumerable.Range(0, 6), job.Items.Select(i => i.Index));
        Assert.Equal([20, 20, 7, 7, 7, 7], job.Items.Select(i => i.Settings.Steps));
        Assert.Equal(Path.Combine(_scratch.Folder, "out"), job.OutputDirectory);
        Assert.Equal(Path.Combine(_scratch.Folder, "out", "0002-5.png"), job.Items[2].Path);
        Assert.Equal("Prompts[1]", job.Items[2].Source);
    }

    [Fact]
    public void DuplicateImagesFromOverlappingSeedsAreReported()
    {
        // The "a cat" prompt above with seeds 8-9 and two images per seed asks for seed 9 twice.
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Prompts": [ { "Prompt": "a cat", "Seeds": "8-9", "ImagesPerPrompt": 2 } ], "OutputDirectory": "out" }
            """);
        var p = Assert.Single(problems);
        Assert.Equal("Prompts[0]", p.Location);
        Assert.Contains("seed 9 asks for the same image as Prompts[0] seed 9", p.Message);
    }

    [Fact]
    public void SettingsComeFromThePromptThenTheDefaultsThenTheBuiltInDefaults()
    {
        var job = _scratch.Validate($$"""
            {
              "Model": {{JobScratch.Model}},
              "Defaults": { "GuidanceScale": 5, "NegativePrompt": "blurry", "Seeds": 1 },
              "Prompts": [ "plain", { "Prompt": "own", "GuidanceScale": 9.5, "NegativePrompt": "dark", "Eta": 0.5, "Width": 128 } ],
              "OutputDirectory": "out"
            }
            """);
        var model = ModelFolder.Open(Fixtures.TinySd);
        var (plain, own) = (job.Items[0], job.Items[1]);
        Assert.Equal(50, plain.Settings.Steps);
        Assert.Equal(5f, plain.Settings.GuidanceScale);
        Assert.Equal("blurry", plain.Request.NegativePrompt);
        Assert.Equal(model.DefaultImageSize, plain.Settings.Width);
        Assert.Equal(9.5f, own.Settings.GuidanceScale);
        Assert.Equal("dark", own.Request.NegativePrompt);
        Assert.Equal(0.5f, own.Settings.Eta);
        Assert.Equal(128, own.Settings.Width);
        Assert.Equal(model.DefaultImageSize, own.Settings.Height);
        Assert.Equal("PNDMScheduler", plain.Expected.Scheduler);
        Assert.Equal("tiny-sd", plain.Expected.Model);
        Assert.Null(plain.Expected.Precision);
    }

    [Theory]
    [InlineData("7", new long[] { 7 })]
    [InlineData("\"3-5\"", new long[] { 3, 4, 5 })]
    [InlineData("\"3 .. 5\"", new long[] { 3, 4, 5 })]
    [InlineData("[1, \"5-6\", 9]", new long[] { 1, 5, 6, 9 })]
    [InlineData("\"1; 4 , 9-10\"", new long[] { 1, 4, 9, 10 })]
    public void SeedsAreNumbersRangesAndLists(string seeds, long[] expected)
    {
        var job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seeds": {{seeds}} }, "OutputDirectory": "o" }""");
        Assert.Equal(expected, job.Items.Select(i => i.Seed));
    }

    [Theory]
    [InlineData("-3", "Seeds must be 0 or more")]
    [InlineData("\"9-2\"", "runs backwards")]
    [InlineData("\"x\"", "'x' is not a seed or a seed range")]
    [InlineData("[]", "empty list")]
    [InlineData("\"0-100000\"", "holds 100001 seeds")]
    [InlineData("1.5", "the number 1.5 is neither")]
    public void BadSeedsAreReportedWithTheirLocation(string seeds, string message)
    {
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seeds": {{seeds}} }, "OutputDirectory": "o" }""");
        Assert.Contains(message, At(problems, "Defaults.Seeds").Message);
        Assert.Equal(1, At(problems, "Defaults.Seeds").Line);
    }

    [Fact]
    public void EveryProblemIsReportedAtOnceWithItsPlaceAndLine()
    {
        string blocker = _scratch.Write("blocker", "a file");
        var problems = _scratch.Problems($$"""
            {
              "Model": {{JobScratch.Model}},
              "Steps": 20,
              "Provider": "Gpu",
              "Precision": "half",
              "AttentionSlicing": "lots",
              "BatchSize": 0,
              "Scheduler": { "Name": "DPMSolverMultistep", "use_karas_sigmas": true },
              "Defaults": { "NegativPrompt": "x", "Width": 100, "GuidanceRescale": 2, "Seeds": 1 },
              "Prompts": [ { "Prompt": 3, "Seeds": 1 }, { "Seeds": 2 }, { "Prompt": "fine", "Scheduler": "Eulr" } ],
              "PromptFile": "nowhere.txt",
              "OutputDirectory": {{System.Text.Json.JsonSerializer.Serialize(Path.Combine(blocker, "out"))}},
              "NameTemplate": "{date}-{seed}"
            }
            """);
        string[] expected =
        [
            "Steps (line 3): 'Steps' belongs in Defaults",
            "Provider (line 4): Provider must be one of Auto, Cpu, Cuda; it is 'Gpu'.",
            "Precision (line 5): Precision must be one of Auto, Float16, Float32; it is 'half'.",
            "AttentionSlicing (line 6): AttentionSlicing must be Off, Auto, Max or a number",
            "BatchSize (line 7): BatchSize must be between 1 and 64; it is 0.",
            "Scheduler (line 8): DPMSolverMultistepScheduler has no option 'use_karas_sigmas'.",
            "Defaults.NegativPrompt (line 9): Unknown key 'NegativPrompt'. Did you mean 'NegativePrompt'?",
            "Defaults.GuidanceRescale (line 9): GuidanceRescale must be between 0 and 1; it is 2.",
            "Defaults.Width (line 9): Width must be a multiple of 8",
            "Prompts[0].Prompt (line 10): Prompt must be text (a string in quotes); it is the number 3.",
            "Prompts[1].Prompt (line 10): Prompt is required",
            "Prompts[2].Scheduler (line 10): Unknown scheduler 'Eulr'. Closest names: Euler",
            "PromptFile (line 11): The prompt file",
            "OutputDirectory (line 12): '",
            "NameTemplate (line 13): NameTemplate uses {date}, which changes from run to run",
        ];
        Assert.Equal(expected.Length, problems.Count);
        for (int i = 0; i < expected.Length; i++)
            Assert.StartsWith(expected[i], problems[i].ToString());
        Assert.Contains("is a file", At(problems, "OutputDirectory").Message);
        Assert.Contains("does not exist", At(problems, "PromptFile").Message);
    }

    [Fact]
    public void TheExceptionMessageListsEveryProblem()
    {
        var e = Assert.Throws<JobValidationException>(() => _scratch.Validate("""{ "Prompts": "p" }"""));
        Assert.Equal(3, e.Problems.Count); // Model, OutputDirectory, seeds
        Assert.Contains("has 3 problems; nothing was rendered:", e.Message);
        foreach (var p in e.Problems) Assert.Contains(p.ToString(), e.Message);
        Assert.Contains("Model is required", e.Message);
        Assert.Contains("Defaults.Seeds: 1 prompt has no seeds (Prompts)", e.Message);
    }

    [Fact]
    public void AModelFolderThatIsNotOneIsAProblemNotACrash()
    {
        var problems = _scratch.Problems("""{ "Model": "no-such-model", "Prompts": "p", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o" }""");
        Assert.Contains("does not exist", At(problems, "Model").Message);
    }

    [Fact]
    public void JsonSyntaxErrorsAndRepeatedKeysGiveTheirLine()
    {
        var syntax = Assert.Throws<JobValidationException>(() => _scratch.Document("{\n  \"Model\": 1,\n  \"Prompts\": [ \"a\" \n}"));
        Assert.Equal(4, Assert.Single(syntax.Problems).Line);
        Assert.Contains("not valid JSON", syntax.Problems[0].Message);

        var repeated = Assert.Throws<JobValidationException>(() => _scratch.Document("{\n  \"Steps\": 1,\n  \"Steps\": 2\n}"));
        Assert.Equal("Steps (line 3): 'Steps' is given twice; give it once.", Assert.Single(repeated.Problems).ToString());

        // Two spellings of one key.
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seed": 1, "seeds": 2 }, "OutputDirectory": "o" }""");
        Assert.Contains("'seeds' and 'Seed' both set Seeds", At(problems, "Defaults.seeds").Message);
    }

    [Fact]
    public void NamesThatCollideAreReported()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Prompts": [ "a cat", "A CAT!" ], "Defaults": { "Seeds": 1 }, "OutputDirectory": "o", "NameTemplate": "{prompt}" }
            """);
        Assert.Contains("names both Prompts[0] seed 1 and Prompts[1] seed 1 'a-cat.png'; add {seed} or {index}", At(problems, "Prompts[1]").Message);
    }

    [Fact]
    public void SchedulerAliasesAndTheirSpelledOutOptionsAreTheSameImage()
    {
        string Job(string scheduler) => $$"""{ "Model": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o", "Scheduler": {{scheduler}} }""";
        var alias = _scratch.Validate(Job("\"DPM++ 2M Karras\"")).Items[0];
        var spelled = _scratch.Validate(Job("""{ "Name": "DPMSolverMultistepScheduler", "use_karras_sigmas": true }""")).Items[0];
        var plain = _scratch.Validate(Job("\"DPMSolverMultistep\"")).Items[0];
        Assert.Equal(alias.Identity, spelled.Identity);
        Assert.NotEqual(alias.Identity, plain.Identity);
        Assert.Equal("DPMSolverMultistepScheduler", alias.Expected.Scheduler);
        Assert.True(alias.Expected.SchedulerOptions!.ContainsKey("use_karras_sigmas"));
    }

    [Fact]
    public void PromptFilesGiveOnePromptPerLineOrPerCsvRow()
    {
        _scratch.Write("prompts.txt", "# tonight\n\na lighthouse\n  a fox  \n# done\n");
        var job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "prompts.txt", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o" }""");
        Assert.Equal(["a lighthouse", "a fox"], job.Items.Select(i => i.Prompt));
        Assert.Equal(["prompts.txt line 3", "prompts.txt line 4"], job.Items.Select(i => i.Source));

        _scratch.Write("prompts.csv", "prompt,negative_prompt,Seed,steps,Guidance Scale\n" +
            "\"a vase, with \"\"tulips\"\"\",\"dark,\nblurry\",3,12,\n" +
            "a dog,,4-5,,6\n");
        job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "Prompts": "first", "PromptFile": "prompts.csv", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o" }""");
        Assert.Equal(["first", "a vase, with \"tulips\"", "a dog", "a dog"], job.Items.Select(i => i.Prompt));
        Assert.Equal("dark,\nblurry", job.Items[1].Request.NegativePrompt);
        Assert.Equal([1L, 3, 4, 5], job.Items.Select(i => i.Seed));
        Assert.Equal([50, 12, 50, 50], job.Items.Select(i => i.Settings.Steps));
        Assert.Equal([7.5f, 7.5f, 6f, 6f], job.Items.Select(i => i.Settings.GuidanceScale));
        // The record after a two-line field starts on line 4.
        Assert.Equal(["Prompts", "prompts.csv line 2", "prompts.csv line 4", "prompts.csv line 4"], job.Items.Select(i => i.Source));
    }

    [Fact]
    public void CsvProblemsNameTheLineAndColumn()
    {
        _scratch.Write("p.csv", "Prompt,Stesp,Steps,Seeds\nok,,ten,1\n,,3,2\nshort,1\n\"open\n");
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "p.csv", "OutputDirectory": "o" }""");
        var p = Assert.Single(problems);
        Assert.Equal("p.csv: line 5: a quoted field is not closed (a '\"' is missing).", p.ToString());

        _scratch.Write("p.csv", "Prompt,Stesp,Steps,Seeds\nok,,ten,1\n,,3,2\nshort,1\n");
        problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "p.csv", "OutputDirectory": "o" }""");
        Assert.Equal(
        [
            "p.csv line 1, column 'Stesp': Unknown column 'Stesp'. Did you mean 'Steps'?",
            "p.csv line 2, column 'Steps': Steps must be a whole number; it is the text 'ten'.",
            "p.csv line 3, column 'Prompt': The Prompt cell is empty; write the prompt or remove the row.",
            "p.csv line 4: The row has 2 fields but the header has 4; quote cells that hold commas (\"blurry, dark\").",
        ], problems.Select(x => x.ToString()));
    }

    [Fact]
    public void MisplacedAndMisspelledKeysGetAHint()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "OutputDir": "o", "Prompts": [ { "Prompt": "p", "Seeds": 1, "Model": "x" } ], "Defaults": { "Prompt": "q", "Scheduler": "Euler" } }
            """);
        Assert.Equal("Unknown key 'OutputDir'. Did you mean 'OutputDirectory'?", At(problems, "OutputDir").Message);
        Assert.Equal("'Model' belongs at the top level of the job, not on a prompt.", At(problems, "Prompts[0].Model").Message);
        Assert.Contains("Defaults holds settings, not a prompt", At(problems, "Defaults.Prompt").Message);
        Assert.Contains("Scheduler is set at the top level", At(problems, "Defaults.Scheduler").Message);
        Assert.Contains("OutputDirectory is required", At(problems, "OutputDirectory").Message);
    }

    [Fact]
    public void SwitchesTakeTrueOrFalse()
    {
        string Job(string value) => $$"""{ "Model": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o", "VaeSlicing": {{value}} }""";
        Assert.True(_scratch.Validate(Job("true")).VaeSlicing);
        Assert.False(_scratch.Validate(Job("false")).VaeSlicing);
        Assert.Equal("VaeSlicing must be true or false ($true or $false in a .psd1 file); it is the text 'yes'.", At(_scratch.Problems(Job("\"yes\"")), "VaeSlicing").Message);
    }

    [Fact]
    public void PathsResolveAgainstTheJobFilesFolderNotTheCurrentDirectory()
    {
        _scratch.Write(Path.Combine("lists", "p.txt"), "a prompt\n");
        var job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "lists/p.txt", "Defaults": { "Seeds": 1 }, "OutputDirectory": "renders/tonight" }""");
        Assert.Equal(Path.Combine(_scratch.Folder, "renders", "tonight"), job.OutputDirectory);
        Assert.Equal("a prompt", job.Items[0].Prompt);
        Assert.False(Directory.Exists(job.OutputDirectory), "validation creates nothing");
    }

    [Fact]
    public void ProviderPrecisionSlicingAndVaeAreRead()
    {
        var job = _scratch.Validate($$"""
            { "Model": {{JobScratch.Model}}, "Provider": "cpu", "DeviceId": 1, "Precision": "float32", "AttentionSlicing": 4,
              "Vae": {{JobScratch.Model}}, "Prompts": "p", "Defaults": { "Seeds": 1 }, "OutputDirectory": "o", "BatchSize": 3 }
            """);
        Assert.Equal(ExecutionProvider.Cpu, job.Provider);
        Assert.Equal(1, job.DeviceId);
        Assert.Equal(JobPrecision.Float32, job.Precision);
        Assert.Equal("4", job.AttentionSlicing);
        Assert.Equal(3, job.BatchSize);
        Assert.Equal("float32", job.Items[0].Expected.Precision);
        Assert.Equal("tiny-sd", job.Items[0].Expected.Vae);
    }
}
