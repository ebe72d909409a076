using StableDiffusion.Lora;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Lora;

public sealed class LoraLibraryTests
{
    private static string Folder => Path.Combine(Fixtures.Root, "tiny-sd-lora");

    [Fact]
    public void ResolvesANameInTheFirstFolderThatHasIt()
    {
        var other = Directory.CreateTempSubdirectory("sd-lora-lib").FullName;
        File.WriteAllBytes(Path.Combine(other, "tiny_lora_a.kohya.fp16.safetensors"), []);
        Assert.Equal(Path.Combine(other, "tiny_lora_a.kohya.fp16.safetensors"), new LoraLibrary([other, Folder]).Resolve("tiny_lora_a.kohya.fp16"));
        Assert.Equal(Path.Combine(Path.GetFullPath(Folder), "tiny_lora_b.kohya.fp16.safetensors"), new LoraLibrary([other, Folder]).Resolve("tiny_lora_b.kohya.fp16"));
    }

    [Fact]
    public void AMissingNameListsTheFoldersSearched()
    {
        var e = Assert.Throws<FileNotFoundException>(() => new LoraLibrary([Folder]).Resolve("nope"));
        Assert.Contains(Path.GetFullPath(Folder), e.Message);
        Assert.Null(new LoraLibrary([Folder]).TryResolve("nope"));
        Assert.Contains("-LoraPath", Assert.Throws<FileNotFoundException>(() => LoraLibrary.Empty.Resolve("x")).Message);
    }

    [Theory]
    [InlineData("../tiny_lora_a.kohya.fp16")]
    [InlineData("sub/x")]
    [InlineData("..")]
    public void NamesWithAFolderAreRefused(string name) =>
        Assert.Throws<ArgumentException>(() => new LoraLibrary([Folder]).Resolve(name));

    [Fact]
    public void AMissingFolderIsRefused() =>
        Assert.Throws<DirectoryNotFoundException>(() => new LoraLibrary([Path.Combine(Folder, "no-such-folder")]));
}
