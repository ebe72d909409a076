using System.Text.Json;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Prompts;

/// <summary>
/// Every case of expected/prompts-a1111/prompt_parser.json (A1111 v1.10.1's own prompt_parser.py run on each prompt):
/// emphasis parse, schedules (20 and 30 steps, old scheduling, hires 20+10), the entry in effect per step, the AND
/// split and each sub-prompt's schedule. All exact: texts ordinal, weights as doubles.
/// </summary>
public sealed class A1111PromptParserFixtureTests
{
    private static readonly Lazy<JsonDocument> Document = new(() => Fixtures.ReadJson("prompts-a1111", "prompt_parser.json"));

    private static JsonElement Case(string id) =>
        Document.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Document.Value.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    [Fact]
    public void TheFixtureHoldsEveryDocumentedCase()
    {
        Assert.Equal(58, Document.Value.RootElement.GetProperty("cases").GetArrayLength());
        Assert.Single(Document.Value.RootElement.GetProperty("batch_cases").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void AttentionParseMatches(string id)
    {
        JsonElement c = Case(id);
        string prompt = c.GetProperty("prompt").GetString()!;
        JsonElement expected = c.GetProperty("parse_prompt_attention");
        if (expected.TryGetProperty("error", out JsonElement error))
        {
            Assert.StartsWith("ValueError", error.GetString());
            var e = Assert.Throws<PromptSyntaxException>(() => A1111AttentionParser.Parse(prompt));
            Assert.Equal(prompt, e.Prompt);
            Assert.Contains(e.Fragment, error.GetString()); // ValueError: could not convert string to float: '.'
            return;
        }

        var want = expected.GetProperty("value").EnumerateArray()
            .Select(p => new PromptFragment(p[0].GetString()!, p[1].GetDouble())).ToArray();
        Assert.Equal(want, A1111AttentionParser.Parse(prompt));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void SchedulesMatch(string id)
    {
        JsonElement c = Case(id);
        string prompt = c.GetProperty("prompt").GetString()!;
        foreach (var steps in c.GetProperty("schedules").EnumerateObject())
            Assert.Equal(Entries(steps.Value), A1111PromptSchedules.Get(prompt, int.Parse(steps.Name)));
        foreach (var steps in c.GetProperty("schedules_use_old_scheduling").EnumerateObject())
            Assert.Equal(Entries(steps.Value), A1111PromptSchedules.Get(prompt, int.Parse(steps.Name), useOldScheduling: true));

        JsonElement hires = c.GetProperty("schedules_hires");
        Assert.Equal(Entries(hires.GetProperty("value")),
            A1111PromptSchedules.Get(prompt, hires.GetProperty("base_steps").GetInt32(), hires.GetProperty("hires_steps").GetInt32()));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void TheEntryInEffectAtEachStepMatches(string id)
    {
        JsonElement c = Case(id);
        string prompt = c.GetProperty("prompt").GetString()!;
        foreach (var steps in c.GetProperty("active_schedule_index_by_step").EnumerateObject())
        {
            int n = int.Parse(steps.Name);
            var schedule = A1111PromptSchedules.Get(prompt, n);
            int[] want = steps.Value.EnumerateArray().Select(v => v.GetInt32()).ToArray();
            Assert.Equal(n + 1, want.Length);
            Assert.Equal(want, Enumerable.Range(0, n + 1).Select(step => A1111PromptSchedules.ActiveIndex(schedule, step)));
        }
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void AndSplitMatches(string id)
    {
        JsonElement c = Case(id);
        AssertComposition(c.GetProperty("multicond"), A1111Composition.Split(c.GetProperty("prompt").GetString()!));
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void EachSubpromptScheduleMatches(string id)
    {
        JsonElement c = Case(id);
        var composed = A1111Composition.Split(c.GetProperty("prompt").GetString()!);
        var want = c.GetProperty("subprompt_schedules_20").EnumerateArray().Select(Entries).ToArray();
        Assert.Equal(want.Length, composed.Subprompts.Count);
        for (int i = 0; i < want.Length; i++) Assert.Equal(want[i], A1111PromptSchedules.Get(composed.Subprompts[i], 20));
    }

    [Fact]
    public void TheBatchCaseSharesSubpromptsAcrossPrompts()
    {
        JsonElement b = Document.Value.RootElement.GetProperty("batch_cases")[0];
        string[] prompts = b.GetProperty("prompts").EnumerateArray().Select(p => p.GetString()!).ToArray();
        AssertComposition(b.GetProperty("multicond"), A1111Composition.Split(prompts));
        var schedules = b.GetProperty("schedules_20").EnumerateArray().Select(Entries).ToArray();
        for (int i = 0; i < prompts.Length; i++) Assert.Equal(schedules[i], A1111PromptSchedules.Get(prompts[i], 20));
    }

    private static void AssertComposition(JsonElement expected, ComposedPrompts actual)
    {
        var parts = expected.GetProperty("res_indexes").EnumerateArray()
            .Select(p => p.EnumerateArray().Select(x => new WeightedSubprompt(x[0].GetInt32(), x[1].GetDouble())).ToArray()).ToArray();
        Assert.Equal(parts.Length, actual.Parts.Count);
        for (int i = 0; i < parts.Length; i++) Assert.Equal(parts[i], actual.Parts[i]);
        Assert.Equal(expected.GetProperty("prompt_flat_list").EnumerateArray().Select(s => s.GetString()!), actual.Subprompts);
        foreach (var index in expected.GetProperty("prompt_indexes").EnumerateObject())
            Assert.Equal(index.Value.GetInt32(), actual.Subprompts.ToList().IndexOf(index.Name));
    }

    private static PromptScheduleEntry[] Entries(JsonElement schedule) =>
        schedule.EnumerateArray().Select(e => new PromptScheduleEntry(e[0].GetInt32(), e[1].GetString()!)).ToArray();
}
