using StableDiffusion.Graph;
using StableDiffusion.Tests.Lora;
using StableDiffusion.Tests.Support;
using StableDiffusion.TextualInversion;

namespace StableDiffusion.Tests.TextualInversion;

/// <summary>Reading embedding files (both fixture layouts, the manifest's vectors) and refusing unusable ones by error id.</summary>
public sealed class TextualInversionEmbeddingTests
{
    private static readonly float[] ExpectedVectors =
        Fixtures.ReadF32(Fixtures.ExpectedPath(TinyEmbeddingFixture.ManifestFolder, "embedding_vectors.f32"));

    [Theory]
    [InlineData("tiny-style.a1111.safetensors", "emb_params", "tiny-style.a1111")]
    [InlineData("tiny-style.diffusers.safetensors", "diffusers", "<tiny-style>")]
    public void BothLayoutsGiveTheManifestsVectors(string file, string format, string defaultToken)
    {
        var e = TextualInversionEmbedding.Load(TinyEmbeddingFixture.EmbeddingPath(file));
        Assert.Equal(format, e.Format);
        Assert.Equal(defaultToken, e.Token); // diffusers: the tensor's name; A1111: the file's base name
        Assert.Equal((2, 32), (e.VectorCount, e.Dimension));
        Assert.Equal(ExpectedVectors, e.Vectors);
        Assert.Equal([defaultToken, defaultToken + "_1"], e.Tokens);
    }

    [Fact]
    public void AGivenTokenWinsOverTheFilesOwn()
    {
        var e = TextualInversionEmbedding.Load(TinyEmbeddingFixture.EmbeddingPath("tiny-style.diffusers.safetensors"), "<mine>");
        Assert.Equal("<mine>", e.Token);
    }

    [Fact]
    public void TheFixtureTextEncodersTableIsFoundAndExtended()
    {
        var graph = OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "text_encoder", "model.onnx"), loadExternalData: false);
        var table = TokenEmbeddingTable.Find(graph);
        Assert.NotNull(table);
        Assert.Equal((49408L, 32L), (table.Rows, table.Dimension));
        var original = TensorData.ToFloats(table.Initializer, graph.BaseDirectory);

        var extended = TokenEmbeddingTable.Find(table.Extend(graph, ExpectedVectors))!;
        Assert.Equal((49410L, 32L), (extended.Rows, extended.Dimension));
        var values = TensorData.ToFloats(extended.Initializer);
        Assert.Equal(original, values.AsSpan(0, original.Length).ToArray()); // rows 0..49407 unchanged
        Assert.Equal(ExpectedVectors, values.AsSpan(original.Length).ToArray());
        Assert.Equal(49408L, TokenEmbeddingTable.Find(graph)!.Rows); // the source graph is left as it was
    }

    public static TheoryData<string, byte[]> BadFiles() => new()
    {
        { "EmbeddingNotFinite", SafetensorsBuilder.Build([SafetensorsBuilder.F32("emb_params", [1, 2], 1f, float.NaN)]) },
        { "EmbeddingNotFinite", SafetensorsBuilder.Build([SafetensorsBuilder.F32("emb_params", [1, 2], float.PositiveInfinity, 0f)]) },
        { "EmbeddingRankInvalid", SafetensorsBuilder.Build([SafetensorsBuilder.F32("emb_params", [1, 1, 2], 1f, 2f)]) },
        { "EmbeddingEmpty", SafetensorsBuilder.Build([SafetensorsBuilder.F32("emb_params", [0, 2])]) },
        { "EmbeddingLayoutUnknown", SafetensorsBuilder.Build([SafetensorsBuilder.F32("a", [2], 1f, 2f), SafetensorsBuilder.F32("b", [2], 1f, 2f)]) },
        { "EmbeddingLayoutUnknown", SafetensorsBuilder.Build([SafetensorsBuilder.F32("clip_l", [1, 2], 1f, 2f)]) },
        { "EmbeddingNotFloat", SafetensorsBuilder.Build([new SafetensorsBuilder.Entry("emb_params", "I64", [1], new byte[8])]) },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void AnUnusableFileIsRefusedByName(string errorId, byte[] bytes)
    {
        var path = SafetensorsBuilder.WriteTemp(bytes);
        var e = Assert.Throws<TextualInversionException>(() => TextualInversionEmbedding.Load(path, "<t>"));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(TextualInversionProblem.InvalidFile, e.Problem);
        Assert.Equal(Path.GetFullPath(path), e.Target);
    }

    [Fact]
    public void AOneDimensionalTensorIsOneVector()
    {
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([SafetensorsBuilder.F32("<one>", [3], 1f, 2f, 3f)]));
        var e = TextualInversionEmbedding.Load(path);
        Assert.Equal(("<one>", 1, 3), (e.Token, e.VectorCount, e.Dimension));
        Assert.Equal(["<one>"], e.Tokens);
    }

    [Fact]
    public void A1111sStringToParamLayoutIsRead()
    {
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([SafetensorsBuilder.F32("string_to_param.*", [2, 2], 1f, 2f, 3f, 4f)]));
        var e = TextualInversionEmbedding.Load(path);
        Assert.Equal(("string_to_param", 2, 2), (e.Format, e.VectorCount, e.Dimension));
        Assert.Equal([1f, 2f, 3f, 4f], e.Vectors);
        Assert.Equal(Path.GetFileNameWithoutExtension(path), e.Token); // no token in this layout: the file's base name
    }

    [Fact]
    public void AnSdxlFileKeepsBothEncodersVectors()
    {
        var path = SafetensorsBuilder.WriteTemp(SafetensorsBuilder.Build([
            SafetensorsBuilder.F32("clip_g", [1, 3], 5f, 6f, 7f), SafetensorsBuilder.F32("clip_l", [1, 2], 1f, 2f)]));
        var e = TextualInversionEmbedding.Load(path, "<xl>");
        Assert.Equal(("sdxl", 1, 2, 3), (e.Format, e.VectorCount, e.Dimension, e.Dimension2));
        Assert.Equal([1f, 2f], e.Vectors);
        Assert.Equal([5f, 6f, 7f], e.Vectors2!);
    }

    [Theory]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("tab\tbed")]
    public void ATokenWithWhitespaceIsRefused(string token)
    {
        var e = Assert.Throws<TextualInversionException>(() =>
            TextualInversionEmbedding.Load(TinyEmbeddingFixture.EmbeddingPath("tiny-style.a1111.safetensors"), token));
        Assert.Equal("EmbeddingTokenInvalid", e.ErrorId);
    }

    [Fact]
    public void AMissingFileOrAFolderIsRefused()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".safetensors");
        Assert.Equal("EmbeddingFileNotFound", Assert.Throws<TextualInversionException>(() => TextualInversionEmbedding.Load(missing)).ErrorId);
        Assert.Equal("EmbeddingPathIsFolder", Assert.Throws<TextualInversionException>(() => TextualInversionEmbedding.Load(Path.GetTempPath())).ErrorId);
    }
}
