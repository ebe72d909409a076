using System.Text;
using StableDiffusion.Jobs;

namespace StableDiffusion.Tests.Jobs;

/// <summary>Seeds, step counts, ranges and texts of job files: each a problem at its place, never a crash or a runaway expansion.</summary>
public sealed class JobLimitsTests : IDisposable
{
    private readonly JobScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private static List<long>? Seeds(object? value, List<string> problems) => SeedList.Parse(value, problems.Add);

    [Fact]
    public void ARangeEndingAtTheLargestSeedGivesExactlyItsSeeds()
    {
        var problems = new List<string>();
        var seeds = Seeds("9223372036854775806-9223372036854775807", problems);
        Assert.Empty(problems);
        Assert.Equal([9223372036854775806L, 9223372036854775807L], seeds);
    }

    [Fact]
    public void TheWholeSeedDomainAsOneRangeIsRefusedWithoutListingIt()
    {
        var problems = new List<string>();
        Assert.Null(Seeds("0-9223372036854775807", problems));
        Assert.Contains("holds 9223372036854775807 + 1 seeds; one range may hold at most 100000", Assert.Single(problems));
    }

    [Fact]
    public void ASeedPastTheLargestIsRefused()
    {
        var problems = new List<string>();
        Assert.Null(Seeds("9223372036854775808", problems));
        Assert.Contains("too large for a seed (at most 9223372036854775807)", Assert.Single(problems));
    }

    [Fact]
    public void RangesTogetherAreLimitedAndReportedOnce()
    {
        var problems = new List<string>();
        Assert.Null(Seeds("0-99999, 100000-100001, 200000, 300000", problems));
        Assert.Contains("more than 100000 seeds in all (at '100000-100001')", Assert.Single(problems));
    }

    [Fact]
    public void SeedsThatWouldPassTheLargestWithImagesPerPromptAreAProblemOfThePrompt()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Prompts": [ { "Prompt": "a fox", "Seeds": "9223372036854775807", "ImagesPerPrompt": 2 } ], "OutputDirectory": "out" }
            """);
        var p = Assert.Single(problems);
        Assert.Equal("Prompts[0]", p.Location);
        Assert.Contains("Seed 9223372036854775807 with 2 images per prompt", p.Message);
    }

    [Fact]
    public void AnEscapedLoneSurrogateInJsonIsAProblemWithItsLine()
    {
        string json = $$"""
            {
              "Model": {{JobScratch.Model}},
              "Prompts": [ "a \ud800 fox" ],
              "OutputDirectory": "out"
            }
            """;
        var e = Assert.Throws<JobValidationException>(() => JobDocument.ParseJson(Encoding.UTF8.GetBytes(json), _scratch.PathIn("job.json"), _scratch.Folder));
        var p = Assert.Single(e.Problems);
        Assert.Equal("Prompts[0]", p.Location);
        Assert.Equal(3, p.Line);
        Assert.Contains("unpaired surrogate", p.Message);
    }

    [Fact]
    public void AnEscapedNulInAPromptIsAProblemOfThatPrompt()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1 }, "Prompts": [ "fine", { "Prompt": "a\u0000fox" } ], "OutputDirectory": "out" }
            """);
        var p = Assert.Single(problems);
        Assert.Equal("Prompts[1]", p.Location);
        Assert.Contains("Prompt holds a NUL character", p.Message);
    }

    [Fact]
    public void ANulInAPromptFileLineIsAProblemAtThatLine()
    {
        _scratch.Write("prompts.txt", "a fox\nan \0owl\n");
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1 }, "PromptFile": "prompts.txt", "OutputDirectory": "out" }
            """);
        var p = Assert.Single(problems);
        Assert.Equal("prompts.txt line 2", p.Location);
        Assert.Contains("NUL", p.Message);
    }

    [Fact]
    public void StepsTheModelsSchedulerCannotRunAreAProblemBeforeAnyModelLoads()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1, "Steps": 1000 }, "Prompts": [ "a fox" ], "OutputDirectory": "out" }
            """);
        var p = Assert.Single(problems);
        Assert.Equal("Prompts[0]", p.Location);
        Assert.Contains("Steps 1000 is more than PNDMScheduler supports", p.Message);
        Assert.Contains("at most 999 steps", p.Message);
    }

    [Fact]
    public void AGuidanceScaleOutOfRangeIsAProblemAsInTheCmdlet()
    {
        var problems = _scratch.Problems($$"""
            { "Model": {{JobScratch.Model}}, "Defaults": { "Seeds": 1 }, "Prompts": [ { "Prompt": "a fox", "GuidanceScale": 3.4e38 } ], "OutputDirectory": "out" }
            """);
        Assert.Contains("GuidanceScale must be a finite number from 0 to 100", Assert.Single(problems).Message);
    }
}
