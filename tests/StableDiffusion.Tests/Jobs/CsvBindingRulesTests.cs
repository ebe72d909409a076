using StableDiffusion.Pipeline;

namespace StableDiffusion.Tests.Jobs;

/// <summary>
/// The rules a loose value is read by (<see cref="InputValues"/>), shared by Invoke-SdGeneration's piped rows and render
/// jobs' CSV prompt files: a blank cell is not given, a whole number must be whole, text is invariant.
/// </summary>
public sealed class CsvBindingRulesTests : IDisposable
{
    private readonly JobScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    [Theory]
    [InlineData("20", true, 20)]
    [InlineData(" -3 ", true, -3)]
    [InlineData("2.5", false, 0)]
    [InlineData("1e3", false, 0)]
    [InlineData("abc", false, 0)]
    [InlineData("", false, 0)]
    public void WholeNumbersFromText(string text, bool ok, long expected)
    {
        Assert.Equal(ok, InputValues.TryInteger(text, out long n));
        Assert.Equal(expected, n);
    }

    [Fact]
    public void WholeNumbersFromValues_AreNeverRounded()
    {
        Assert.True(InputValues.TryInteger(4.0, out long four));
        Assert.Equal(4, four);
        Assert.False(InputValues.TryInteger(1.5, out _));
        Assert.False(InputValues.TryInteger(true, out _));
        Assert.False(InputValues.TryInteger(new[] { 1, 2 }, out _));
    }

    [Theory]
    [InlineData("7.5", true, 7.5)]
    [InlineData("1e-3", true, 0.001)]
    [InlineData("7,5", false, 0)]
    [InlineData("NaN", false, 0)]
    [InlineData("high", false, 0)]
    public void NumbersFromText_UseTheInvariantCulture(string text, bool ok, double expected)
    {
        Assert.Equal(ok, InputValues.TryNumber(text, out double d));
        Assert.Equal(expected, d);
    }

    [Fact]
    public void BlankTextIsNotGiven()
    {
        Assert.True(InputValues.IsBlank(""));
        Assert.True(InputValues.IsBlank("  "));
        Assert.False(InputValues.IsBlank("0"));
        Assert.False(InputValues.IsBlank(null));
    }

    [Fact]
    public void AMisspeltNameGetsTheClosest()
    {
        Assert.Equal("Prompt", InputValues.ClosestName("Promt", ["Prompt"]));
        Assert.Equal("Prompt", InputValues.ClosestName("prompts", ["Prompt"]));
        Assert.Null(InputValues.ClosestName("Subject", ["Prompt"]));
    }

    [Fact]
    public void ARenderJobCsv_RefusesWhatTheCmdletRefuses_AndTakesEmptyCellsAsNotGiven()
    {
        _scratch.Write("p.csv", "Prompt,Steps,Seeds,Width\nbad steps,2.5,1,64\nbad seed,2,1.5,64\nbad width,2,1,abc\n");
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "p.csv", "OutputDirectory": "o" }""")
            .Select(p => p.ToString()).ToList();
        Assert.Equal(3, problems.Count);
        Assert.StartsWith("p.csv line 2, column 'Steps':", problems[0]);
        Assert.StartsWith("p.csv line 3, column 'Seeds':", problems[1]);
        Assert.StartsWith("p.csv line 4, column 'Width':", problems[2]);

        _scratch.Write("p.csv", "Prompt,Steps,Seeds,Width,Height\nempty cells,,7,,\n");
        var job = _scratch.Validate($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "p.csv", "OutputDirectory": "o", "Defaults": { "Steps": 3, "Width": 64, "Height": 64 } }""");
        var item = Assert.Single(job.Items);
        Assert.Equal(3, item.Settings.Steps);
        Assert.Equal(64, item.Settings.Width);
    }

    [Fact]
    public void ARenderJobCsv_WithAMisspeltPromptColumn_SuggestsPrompt()
    {
        _scratch.Write("p.csv", "Promt,Steps\na cat,2\n");
        var problems = _scratch.Problems($$"""{ "Model": {{JobScratch.Model}}, "PromptFile": "p.csv", "OutputDirectory": "o" }""")
            .Select(p => p.ToString()).ToList();
        Assert.Contains(problems, p => p.Contains("Unknown column 'Promt'. Did you mean 'Prompt'?"));
        Assert.Contains(problems, p => p.Contains("no Prompt column"));
    }
}
