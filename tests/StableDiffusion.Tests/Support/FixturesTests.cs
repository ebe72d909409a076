namespace StableDiffusion.Tests.Support;

public class FixturesTests
{
    [Fact]
    public void FixtureFolderIsPresent()
    {
        Assert.True(File.Exists(Path.Combine(Fixtures.TinySd, "model_index.json")));
        Assert.True(File.Exists(Path.Combine(Fixtures.TinySdFp16Io, "model_index.json")));
    }
}
