using StableDiffusion.Schedulers;

namespace StableDiffusion.Tests.Schedulers;

public class SchedulerRegistryTests
{
    [Theory]
    [InlineData("PNDMScheduler")]
    [InlineData("PNDM")]
    [InlineData("pndm")]
    [InlineData("PLMS")]
    [InlineData("  plms ")]
    public void FindsByClassShortAndAliasNamesIgnoringCase(string name)
    {
        Assert.Equal("PNDMScheduler", SchedulerRegistry.Find(name).ClassName);
        Assert.Equal("PNDMScheduler", SchedulerRegistry.Create(name).Name);
    }

    [Fact]
    public void UnknownNameListsClosestNames()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PMLS"));
        Assert.Contains("PMLS", ex.Message);
        Assert.Contains("PLMS", ex.Message);
    }

    [Fact]
    public void UnknownNameListsEveryKnownClass()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("no such sampler"));
        Assert.Equal("name", ex.ParamName);
        Assert.Contains("Closest names: ", ex.Message);
        foreach (var r in SchedulerRegistry.Registrations) Assert.Contains(r.ClassName, ex.Message);
        Assert.DoesNotContain("SchedulerRegistry", ex.Message); // a type name means nothing to a user
    }

    [Fact]
    public void NamesAreListedOnce()
    {
        var normalized = SchedulerRegistry.Names.Select(SchedulerRegistry.Normalize).ToList();
        Assert.Equal(normalized.Count, normalized.Distinct().Count());
        Assert.Single(SchedulerRegistry.Names, n => n == "PNDM"); // PNDM's short name and alias
        Assert.Contains("PLMS", SchedulerRegistry.Names);
    }

    [Fact]
    public void NamesListIncludesEveryRegistration()
    {
        foreach (var r in SchedulerRegistry.Registrations)
        {
            Assert.Contains(r.ClassName, SchedulerRegistry.Names);
            Assert.Contains(r.ShortName, SchedulerRegistry.Names);
            Assert.False(string.IsNullOrWhiteSpace(r.Summary));
            Assert.True(r.Order >= 1);
        }
    }

    [Fact]
    public void MissingKeysTakeClassDefaultsAndForeignKeysAreIgnored()
    {
        var config = SchedulerConfig.Parse("""{"beta_schedule":"scaled_linear","use_karras_sigmas":true,"_class_name":"EulerDiscreteScheduler"}""");
        var scheduler = SchedulerRegistry.Create("PNDM", config);
        Assert.Equal("scaled_linear", scheduler.Config.GetString("beta_schedule", null));
        Assert.Equal(0.0001, scheduler.Config.GetDouble("beta_start", double.NaN));
        Assert.Equal("leading", scheduler.Config.GetString("timestep_spacing", null));
        Assert.False(scheduler.Config.GetBool("skip_prk_steps", true));
    }

    [Fact]
    public void OverrideWithUnknownKeyThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", null, [new("use_karras_sigmas", true)]));
        Assert.Equal("use_karras_sigmas", ex.ParamName);
        Assert.Contains("skip_prk_steps", ex.Message);
    }

    [Fact]
    public void OverrideWithIllegalChoiceThrowsListingAllowedValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", null, [new("timestep_spacing", "uniform")]));
        Assert.Equal("timestep_spacing", ex.ParamName);
        Assert.Contains("\"leading\"", ex.Message);
        Assert.Contains("\"trailing\"", ex.Message);
    }

    [Fact]
    public void OverrideWithWrongTypeThrows()
    {
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", null, [new("steps_offset", "one")]));
        Assert.Equal("steps_offset", ex.ParamName);
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", null, [new("steps_offset", 1.5)]));
        Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", null, [new("skip_prk_steps", "yes")]));
    }

    [Fact]
    public void IllegalValueInModelConfigThrows()
    {
        var config = SchedulerConfig.Parse("""{"beta_schedule":"cubic"}""");
        var ex = Assert.Throws<ArgumentException>(() => SchedulerRegistry.Create("PNDM", config));
        Assert.Equal("beta_schedule", ex.ParamName);
    }

    [Fact]
    public void ChoicesMatchCaseInsensitivelyAndAreStoredCanonically()
    {
        var scheduler = SchedulerRegistry.Create("PNDM", null, [new("timestep_spacing", "Trailing")]);
        Assert.Equal("trailing", scheduler.Config.GetString("timestep_spacing", null));
    }
}
