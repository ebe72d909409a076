using StableDiffusion.Imaging;

namespace StableDiffusion.Tests.Files;

/// <summary>A write killed mid-way leaves a hidden temporary file; the next write to that folder removes it, if it is ours and old.</summary>
public sealed class AtomicFileLeftoverTests : IDisposable
{
    private readonly FileScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    private string Temporary(string target, TimeSpan age)
    {
        string path = _scratch.PathIn($".{target}.{Guid.NewGuid():N}.tmp");
        File.WriteAllText(path, "partial");
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
        return path;
    }

    [Fact]
    public void TheNextWriteRemovesOurOldLeftoversOnly()
    {
        string old = Temporary("a.png", TimeSpan.FromHours(1));
        string fresh = Temporary("b.png", TimeSpan.Zero); // a concurrent writer's, still being written
        string foreign = _scratch.PathIn(".notes.tmp");
        string notHex = _scratch.PathIn(".c.png.not-a-guid-at-all-not-a-guid-at.tmp");
        File.WriteAllText(foreign, "someone else's");
        File.WriteAllText(notHex, "someone else's");
        File.SetLastWriteTimeUtc(foreign, DateTime.UtcNow.AddDays(-1));
        File.SetLastWriteTimeUtc(notHex, DateTime.UtcNow.AddDays(-1));

        AtomicFile.Write(_scratch.PathIn("new.png"), overwrite: false, s => s.WriteByte(1));

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(fresh));
        Assert.True(File.Exists(foreign));
        Assert.True(File.Exists(notHex));
        Assert.True(File.Exists(_scratch.PathIn("new.png")));
    }

    [Fact]
    public void OurNamingIsRecognised()
    {
        Assert.True(AtomicFile.IsTemporaryName($".x.png.{Guid.NewGuid():N}.tmp"));
        Assert.False(AtomicFile.IsTemporaryName($"x.png.{Guid.NewGuid():N}.tmp"));
        Assert.False(AtomicFile.IsTemporaryName(".x.png.tmp"));
    }

    [Fact]
    public void WritingOntoAFolderSaysItIsAFolder()
    {
        string folder = _scratch.PathIn("images");
        Directory.CreateDirectory(folder);
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(folder, overwrite: true, s => s.WriteByte(1)));
        Assert.Contains("is a folder, not a file", e.Message);
    }
}
