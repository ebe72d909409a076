using StableDiffusion.Conversion;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Files;

/// <summary>A float16 conversion that fails leaves the destination as it was, and says why.</summary>
public sealed class Float16FolderAtomicityTests : IDisposable
{
    private readonly FileScratch _scratch = new();

    public void Dispose() => _scratch.Dispose();

    /// <summary>Everything in the scratch folder's "out" parent, to prove nothing partial or temporary stayed.</summary>
    private string[] Leftovers(string parent) =>
        Directory.Exists(parent) ? Directory.EnumerateFileSystemEntries(parent).Select(p => Path.GetFileName(p)).ToArray() : [];

    [Fact]
    public void ACorruptSourceGraphIsCorruptSourceNamingTheFileAndNothingIsWritten()
    {
        string model = _scratch.CopyTinySd();
        string unet = Path.Combine(model, "unet", "model.onnx");
        File.WriteAllBytes(unet, [0x0A, 0xFF, 0xFF, 0xFF, 0x7F, 0x01]); // a field that claims far more bytes than follow
        string parent = _scratch.PathIn("out");
        Directory.CreateDirectory(parent);
        var e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(model, Path.Combine(parent, "fp16")));
        Assert.Equal(Float16ConversionError.CorruptSource, e.Error);
        Assert.Equal(unet, e.Target);
        Assert.Contains(unet, e.Message);
        Assert.Empty(Leftovers(parent));
    }

    [Fact]
    public void AFailureInAFolderThatDidNotExistRemovesTheFoldersItCreated()
    {
        string model = _scratch.CopyTinySd();
        File.WriteAllText(Path.Combine(model, "vae_decoder", "model.onnx"), "not onnx");
        var e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(model, _scratch.PathIn("a", "b", "fp16")));
        Assert.Equal(Float16ConversionError.CorruptSource, e.Error);
        Assert.False(Directory.Exists(_scratch.PathIn("a")));
    }

    [Fact]
    public void AnUnwritableDestinationIsAccessDeniedNotDestinationExists()
    {
        string destination = _scratch.UnwritableChild();
        var e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(Fixtures.TinySd, destination));
        Assert.Equal(Float16ConversionError.AccessDenied, e.Error);
        Assert.False(Directory.Exists(destination));
    }

    [Fact]
    public void DestinationExistsOnlyWhenItHeldFilesBefore()
    {
        string destination = _scratch.PathIn("taken");
        Directory.CreateDirectory(destination);
        File.WriteAllText(Path.Combine(destination, "mine.txt"), "x");
        var e = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(Fixtures.TinySd, destination));
        Assert.Equal(Float16ConversionError.DestinationExists, e.Error);
        Assert.Equal(["mine.txt"], Leftovers(destination));
    }

    [Fact]
    public void ADestinationInsideTheSourceOrOnAFileIsRefusedBeforeAnyWork()
    {
        string model = _scratch.CopyTinySd();
        var inside = Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(model, Path.Combine(model, "fp16")));
        Assert.Equal(Float16ConversionError.DestinationIsSource, inside.Error);
        Assert.False(Directory.Exists(Path.Combine(model, "fp16")));
        string file = _scratch.PathIn("file");
        File.WriteAllText(file, "x");
        Assert.Equal(Float16ConversionError.DestinationIsFile,
            Assert.Throws<Float16ConversionException>(() => Float16FolderConverter.Convert(model, file)).Error);
    }

    [Fact]
    public void ASuccessfulConversionLeavesOnlyTheDestinationAndReplacingKeepsNoOldFiles()
    {
        string parent = _scratch.PathIn("out");
        Directory.CreateDirectory(parent);
        string destination = Path.Combine(parent, "fp16");
        Directory.CreateDirectory(destination);
        File.WriteAllText(Path.Combine(destination, "old.txt"), "x");
        Float16FolderConverter.Convert(Fixtures.TinySd, destination, overwrite: true);
        Assert.Equal(["fp16"], Leftovers(parent));
        Assert.False(File.Exists(Path.Combine(destination, "old.txt")));
        Assert.True(File.Exists(Path.Combine(destination, "unet", "model.onnx")));
    }

    [Fact]
    public void CancellationLeavesNothing()
    {
        string parent = _scratch.PathIn("out");
        Directory.CreateDirectory(parent);
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Float16FolderConverter.Convert(Fixtures.TinySd, Path.Combine(parent, "fp16"), progress: _ => cancel.Cancel(), cancellation: cancel.Token));
        Assert.Empty(Leftovers(parent));
    }

    [Fact]
    public void AnAbandonedBuildFolderIsRemovedOnTheNextConversionButAReplacedModelIsKept()
    {
        string parent = _scratch.PathIn("out");
        Directory.CreateDirectory(parent);
        string Folder(string purpose, TimeSpan age)
        {
            string path = Path.Combine(parent, $".fp16.sd-float16-{purpose}-{Guid.NewGuid():N}.tmp");
            Directory.CreateDirectory(path);
            Directory.SetLastWriteTimeUtc(path, DateTime.UtcNow - age);
            return path;
        }
        string abandoned = Folder("building", TimeSpan.FromHours(3)); // a conversion killed hours ago
        string running = Folder("building", TimeSpan.Zero);            // another conversion, still writing
        string replaced = Folder("replaced", TimeSpan.FromHours(3));   // a user's previous model, moved aside
        Float16FolderConverter.Convert(Fixtures.TinySd, Path.Combine(parent, "fp16"));
        Assert.False(Directory.Exists(abandoned));
        Assert.True(Directory.Exists(running));
        Assert.True(Directory.Exists(replaced));
    }
}
