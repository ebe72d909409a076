using System.Text.Json;
using StableDiffusion.Prompts;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Prompts;

/// <summary>
/// Extra-network tags against A1111 v1.10.1's own modules/extra_networks.parse_prompt outputs (every case of
/// expected/prompts-a1111/prompt_parser.json, exact), plus the LoRA tag reading of extra_networks_lora.py.
/// </summary>
public sealed class A1111ExtraNetworksTests
{
    private static readonly Lazy<JsonDocument> Document = new(() => Fixtures.ReadJson("prompts-a1111", "prompt_parser.json"));

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Document.Value.RootElement.GetProperty("cases").EnumerateArray())
            if (c.TryGetProperty("extra_networks", out _)) data.Add(c.GetProperty("id").GetString()!);
        return data;
    }

    [Fact]
    public void TheFixtureHasTagCases() =>
        Assert.Contains(Document.Value.RootElement.GetProperty("cases").EnumerateArray(),
            c => c.TryGetProperty("extra_networks", out var e) && e.GetProperty("networks").EnumerateObject().Any());

    [Theory]
    [MemberData(nameof(CaseIds))]
    public void ParseMatchesA1111(string id)
    {
        var c = Document.Value.RootElement.GetProperty("cases").EnumerateArray().Single(x => x.GetProperty("id").GetString() == id);
        var expected = c.GetProperty("extra_networks");
        var parsed = A1111ExtraNetworks.Parse(c.GetProperty("prompt").GetString()!);
        Assert.Equal(expected.GetProperty("prompt").GetString(), parsed.Text);
        var want = expected.GetProperty("networks").EnumerateObject().ToList();
        Assert.Equal(want.Select(n => n.Name).Order(StringComparer.Ordinal), parsed.Networks.Keys.Order(StringComparer.Ordinal));
        foreach (var network in want)
        {
            var got = parsed.Networks[network.Name];
            var items = network.Value.EnumerateArray().ToList();
            Assert.Equal(items.Count, got.Count);
            for (int i = 0; i < items.Count; i++)
            {
                Assert.Equal(items[i].GetProperty("items").EnumerateArray().Select(x => x.GetString()), got[i].Items);
                Assert.Equal(items[i].GetProperty("positional").EnumerateArray().Select(x => x.GetString()), got[i].Positional);
                Assert.Equal(items[i].GetProperty("named").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
                    got[i].Named.ToDictionary(p => p.Key, p => p.Value));
            }
        }
    }

    [Theory]
    [InlineData("<lora:a>", "")]                      // whole prompt is one tag
    [InlineData("x <lora:> y", "x <lora:> y")]         // [^>]+ needs a character
    [InlineData("x <:a> y", "x <:a> y")]               // \w+ needs a character
    [InlineData("x <lo ra:a> y", "x <lo ra:a> y")]     // a space is no \w
    [InlineData("x <lora:a", "x <lora:a")]             // no closing '>'
    [InlineData("<<lora:a>>", "<>")]                   // the match starts at the second '<'
    [InlineData("<lora:a<b>c", "c")]                   // '<' is a [^>] character
    [InlineData("é<lóra:a>", "é")]                     // Unicode \w
    public void TagsAreRemovedAsTheRegexMatches(string prompt, string text) =>
        Assert.Equal(text, A1111ExtraNetworks.Parse(prompt).Text);

    [Fact]
    public void NamedItemsNeedExactlyOneEquals()
    {
        var p = A1111ExtraNetworks.Parse("<lora:n:te=0.5:a=b=c:=x>").Loras.Single();
        Assert.Equal(["n", "a=b=c"], p.Positional);
        Assert.Equal(new Dictionary<string, string> { ["te"] = "0.5", [""] = "x" }, p.Named.ToDictionary(k => k.Key, k => k.Value));
    }

    [Fact]
    public void OnlyTheFirstPromptOfABatchActivatesItsTags()
    {
        var (texts, first) = A1111ExtraNetworks.ParseBatch(["a <lora:x:0.5>", "b <lora:y>"]);
        Assert.Equal(["a ", "b "], texts);
        Assert.Equal("x", first!.Loras.Single().Positional[0]);
    }

    [Theory]
    [InlineData("<lora:n>", 1.0, 1.0)]
    [InlineData("<lora:n:0.8>", 0.8, 0.8)]
    [InlineData("<lora:n:0.5:0.25>", 0.5, 0.25)]
    [InlineData("<lora:n: 0.5 >", 0.5, 0.5)]
    [InlineData("<lora:n:te=0.3>", 0.3, 0.3)]
    [InlineData("<lora:n:unet=0.3>", 1.0, 0.3)]
    [InlineData("<lora:n:0.5:te=2>", 2.0, 2.0)]
    [InlineData("<lora:n:0.5:0.7:unet=-1>", 0.5, -1.0)]
    public void LoraMultipliersFollowExtraNetworksLora(string prompt, double te, double unet)
    {
        var tag = LoraPromptTag.From(A1111ExtraNetworks.Parse(prompt).Loras.Single(), prompt);
        Assert.Equal(new LoraPromptTag("n", te, unet), tag);
    }

    [Theory]
    [InlineData("<lora:n:abc>", "abc")]
    [InlineData("<lora:n:nan>", "nan")]
    [InlineData("<lora:n:1:inf>", "inf")]
    [InlineData("<lora:n:te=>", "")]
    public void ABadMultiplierIsRefusedNamingIt(string prompt, string fragment)
    {
        var e = Assert.Throws<PromptSyntaxException>(() => LoraPromptTag.From(A1111ExtraNetworks.Parse(prompt).Loras.Single(), prompt));
        Assert.Equal(fragment, e.Fragment);
        Assert.Contains("finite number", e.Message);
    }

    [Theory]
    [InlineData("<lora:te=1>")]
    [InlineData("<lora:n:1:1:8>")]
    [InlineData("<lora:n:dyn=8>")]
    public void NoNameOrADyLoraDimensionIsRefused(string prompt) =>
        Assert.Throws<PromptSyntaxException>(() => LoraPromptTag.From(A1111ExtraNetworks.Parse(prompt).Loras.Single(), prompt));
}
