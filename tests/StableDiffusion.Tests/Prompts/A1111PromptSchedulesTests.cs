using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Prompts;

/// <summary>Prompt editing beyond the fixture; expectations worked out by hand from A1111's grammar and step rules.</summary>
public sealed class A1111PromptSchedulesTests
{
    private static PromptScheduleEntry E(int end, string text) => new(end, text);

    [Theory]
    [InlineData("[a:b:1e1]", 10)]   // no '.': a step number, even written with an exponent
    [InlineData("[a:b:+5]", 5)]     // a signed number
    [InlineData("[a:b: 5 ]", 5)]    // whitespace on both sides of the step
    [InlineData("[a:b:5.]", 20)]    // a '.': 5 × 20 steps = 100, clamped to 20
    public void TheStepIsReadAsA1111ReadsIt(string prompt, int end)
    {
        var schedule = A1111PromptSchedules.Get(prompt, 20);
        Assert.Equal(end == 20 ? [E(20, "a")] : [E(end, "a"), E(20, "b")], schedule);
    }

    [Theory]
    [InlineData("[a:b:-1]")]   // a step below 1 adds no entry and the part after it applies from the start
    [InlineData("[a:b:0.0]")]
    public void AStepBelowOneMeansTheSecondPartThroughout(string prompt)
    {
        Assert.Equal([E(20, "b")], A1111PromptSchedules.Get(prompt, 20));
    }

    [Theory]
    [InlineData("[cat:dog:5] a|b")]         // '|' outside an alternation
    [InlineData("[cat:dog:5] \\")]          // a trailing backslash
    [InlineData("[cat:dog:5] [x|y")]        // an unclosed alternation
    [InlineData("[cat:dog:5] [x:y|z]")]     // ':' inside an alternation
    public void APromptTheGrammarRejectsIsUsedUnchanged(string prompt)
    {
        Assert.Equal([E(20, prompt)], A1111PromptSchedules.Get(prompt, 20));
    }

    [Theory]
    [InlineData(@"\[a:b:5\]")]   // escaped brackets are text
    [InlineData("[a:b:5x]")]      // not a number
    [InlineData("(a:b:5)")]       // parentheses do not schedule
    public void TextThatIsNoScheduleStaysAsWritten(string prompt)
    {
        Assert.Equal([E(20, prompt)], A1111PromptSchedules.Get(prompt, 20));
    }

    [Fact]
    public void AnUnmatchedBracketAtTheTopLevelIsText()
    {
        Assert.Equal([E(1, "[a"), E(20, "[b")], A1111PromptSchedules.Get("[[a:b:1]", 20));
    }

    [Fact]
    public void WhereA1111sReadingDependsOnPythonsHashSeedTheScheduleIsChosen()
    {
        // lark breaks the tie between "[" as text + [a::3] scheduled and all text by hash order: A1111 gives either
        // [[7, "[[a::3]:x]"]] or this, depending on PYTHONHASHSEED. The structured reading is the deterministic choice.
        Assert.Equal([E(3, "[a:x]"), E(7, "[:x]")], A1111PromptSchedules.Get("[[a::3]:x]", 7));
    }

    [Fact]
    public void AnAlternationMayHoldASchedule()
    {
        // Steps {1..4} from the alternation, 2 from the schedule; the schedule shows at even steps: step 2 → b, step 4 → c.
        Assert.Equal([E(1, "a"), E(2, "b"), E(3, "a"), E(4, "c")], A1111PromptSchedules.Get("[a|[b:c:2]]", 4));
    }

    [Fact]
    public void EmptyAlternativesCycleToo()
    {
        Assert.Equal([E(1, "xa"), E(2, "x"), E(3, "x"), E(4, "xa")], A1111PromptSchedules.Get("x[a||]", 4));
    }

    [Fact]
    public void AnInfiniteStepIsAnError()
    {
        var e = Assert.Throws<PromptSyntaxException>(() => A1111PromptSchedules.Get("[a:b:1e999]", 20));
        Assert.Equal("1e999", e.Fragment);
        Assert.Contains("0.5", e.Message);
    }

    [Fact]
    public void NestingBeyondTheLimitIsReadAsTextNotACrash()
    {
        int n = A1111ScheduleParser.MaxNesting + 1;
        string deep = new string('(', n) + "a" + new string(')', n);
        Assert.Equal([E(20, deep)], A1111PromptSchedules.Get(deep, 20));
        string unclosed = new string('[', 20_000) + "[x:y:3]";
        Assert.Equal([E(3, new string('[', 20_000) + "x"), E(20, new string('[', 20_000) + "y")], A1111PromptSchedules.Get(unclosed, 20));
        string fine = new string('(', 50) + "[a:b:3]" + new string(')', 50);
        Assert.Equal([E(3, new string('(', 50) + "a" + new string(')', 50)), E(20, new string('(', 50) + "b" + new string(')', 50))],
            A1111PromptSchedules.Get(fine, 20));
    }

    [Fact]
    public void TheActiveEntryIsTheFirstThatEndsAtOrAfterTheStep()
    {
        var schedule = new[] { E(5, "a"), E(20, "b") };
        Assert.Equal(0, A1111PromptSchedules.ActiveIndex(schedule, 0));
        Assert.Equal(0, A1111PromptSchedules.ActiveIndex(schedule, 5));
        Assert.Equal(1, A1111PromptSchedules.ActiveIndex(schedule, 6));
        Assert.Equal(0, A1111PromptSchedules.ActiveIndex(schedule, 21)); // past the end: the first entry, as A1111
    }
}
