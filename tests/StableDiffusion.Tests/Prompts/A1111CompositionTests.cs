using StableDiffusion.Prompts;

namespace StableDiffusion.Tests.Prompts;

/// <summary>AND splitting beyond the fixture; expectations worked out by hand from get_multicond_prompt_list.</summary>
public sealed class A1111CompositionTests
{
    [Fact]
    public void WeightsAndSpacesAreReadAsA1111ReadsThem()
    {
        var c = A1111Composition.Split("a cat : 1.5 AND  a dog:.5  AND a bird:2.");
        Assert.Equal(["a cat", "  a dog", " a bird"], c.Subprompts);
        Assert.Equal([new WeightedSubprompt(0, 1.5), new WeightedSubprompt(1, 0.5), new WeightedSubprompt(2, 2.0)], c.Parts[0]);
    }

    [Fact]
    public void OnlyTheLastColonNumberIsAWeight()
    {
        var c = A1111Composition.Split("time 12:30:0.5");
        Assert.Equal(["time 12:30"], c.Subprompts);
        Assert.Equal(0.5, c.Parts[0][0].Weight);
    }

    [Fact]
    public void AWeightFollowedByTextIsNoWeight()
    {
        var c = A1111Composition.Split("a:0.5 b");
        Assert.Equal(["a:0.5 b"], c.Subprompts);
        Assert.Equal(1.0, c.Parts[0][0].Weight);
    }

    [Fact]
    public void AndNeedsPythonWordBoundaries()
    {
        Assert.Equal(["x_AND y"], A1111Composition.Split("x_AND y").Subprompts);
        Assert.Equal(["e\u0301", " y"], A1111Composition.Split("e\u0301AND y").Subprompts); // a combining mark is no word character
        Assert.Equal(["a", "", " b"], A1111Composition.Split("a AND AND b").Subprompts); // the middle part is only a space
    }

    [Fact]
    public void EqualPartsAreEncodedOnceWithEachWeightKept()
    {
        var c = A1111Composition.Split(["a:2 AND b", "a :3"]);
        Assert.Equal(["a", " b"], c.Subprompts);
        Assert.Equal([new WeightedSubprompt(0, 2.0), new WeightedSubprompt(1, 1.0)], c.Parts[0]);
        Assert.Equal([new WeightedSubprompt(0, 3.0)], c.Parts[1]);
    }
}
