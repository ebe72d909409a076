using System.Text;
using StableDiffusion.Tests.Support;
using StableDiffusion.Weights;
using static StableDiffusion.Tests.Lora.SafetensorsBuilder;

namespace StableDiffusion.Tests.Lora;

public class SafetensorsFileTests
{
    private static string LoraDir => Path.Combine(Fixtures.Root, "tiny-sd-lora");

    // Tensor counts from the table in tiny-sd-lora/README.md.
    [Theory]
    [InlineData("tiny_lora_a.kohya.fp16.safetensors", 282)]
    [InlineData("tiny_lora_a.kohya.fp32.safetensors", 282)]
    [InlineData("tiny_lora_a.peft.safetensors", 188)]
    [InlineData("tiny_lora_b.kohya.fp16.safetensors", 183)]
    [InlineData("tiny_lora_b.kohya.fp32.safetensors", 183)]
    [InlineData("tiny-style.a1111.safetensors", 1)]
    [InlineData("tiny-style.diffusers.safetensors", 1)]
    public void FixtureFilesOpenWithTheirTensorCount(string name, int tensors)
    {
        using var file = SafetensorsFile.Open(Path.Combine(LoraDir, name));
        Assert.Equal(tensors, file.Names.Count);
        foreach (var t in file.Tensors) Assert.Equal(t.ElementCount, file.ReadFloats(t.Name).Length);
    }

    [Fact]
    public void Fp16AndFp32FilesHoldTheSameValues()
    {
        using var f16 = SafetensorsFile.Open(Path.Combine(LoraDir, "tiny_lora_a.kohya.fp16.safetensors"));
        using var f32 = SafetensorsFile.Open(Path.Combine(LoraDir, "tiny_lora_a.kohya.fp32.safetensors"));
        Assert.Equal(f32.Names.OrderBy(n => n), f16.Names.OrderBy(n => n));
        Assert.All(f16.Tensors, t => Assert.Equal(SafetensorsDType.F16, t.DType));
        foreach (var name in f32.Names) Assert.Equal(f32.ReadFloats(name), f16.ReadFloats(name));
    }

    [Fact]
    public void ReadsMetadataAndAZeroDimAlpha()
    {
        using var file = SafetensorsFile.Open(Path.Combine(LoraDir, "tiny_lora_a.kohya.fp16.safetensors"));
        Assert.Equal("4", file.Metadata["ss_network_dim"]);
        var alpha = file["lora_te_text_model_encoder_layers_0_mlp_fc1.alpha"];
        Assert.Empty(alpha.Shape);
        Assert.Equal([2f], file.ReadFloats(alpha.Name));
    }

    [Fact]
    public void ConvertsBf16AndSkipsIntegerMetadataTensors()
    {
        // 1.5 in bfloat16 is 0x3FC0; -2 is 0xC000.
        var bytes = Build([new Entry("w", "BF16", [2], [0xC0, 0x3F, 0x00, 0xC0]), new Entry("step", "I64", [1], BitConverter.GetBytes(7L))]);
        using var file = SafetensorsFile.Open(WriteTemp(bytes));
        Assert.Equal([1.5f, -2f], file.ReadFloats("w"));
        var e = Assert.Throws<SafetensorsFormatException>(() => file.ReadFloats("step"));
        Assert.Contains("I64", e.Message);
    }

    [Theory]
    [InlineData(".pt")]
    [InlineData(".ckpt")]
    [InlineData(".bin")]
    public void PickleCheckpointsAreRefusedUnopened(string extension)
    {
        // The file does not even exist: the refusal comes from the name alone.
        var path = Path.Combine(Path.GetTempPath(), "never-created" + extension);
        var e = Assert.Throws<UnsupportedWeightsFormatException>(() => SafetensorsFile.Open(path));
        Assert.Contains("safetensors", e.Message);
        Assert.Contains("Convert", e.Message);
    }

    private static SafetensorsFormatException Refused(byte[] bytes) =>
        Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(WriteTemp(bytes)).Dispose());

    private static byte[] Floats(int n) => new byte[n * 4];

    [Fact]
    public void TruncatedBelowTheLengthPrefix() => Assert.Contains("truncated", Refused([1, 2, 3]).Message);

    [Fact]
    public void HeaderLengthPastTheFile()
    {
        var e = Refused(Raw(Encoding.UTF8.GetBytes("{}"), [], claimedHeaderLength: 1000));
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void TruncatedDataArea()
    {
        var good = Build([F32("w", [4], 1, 2, 3, 4)]);
        var e = Refused(good[..^4]);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("data area", e.Message);
    }

    [Fact]
    public void OverlappingOffsets()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", Floats(3)));
        Assert.Contains("overlap", e.Message);
        Assert.Equal("b", e.TensorName);
    }

    [Fact]
    public void OffsetsOutOfRange()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", Floats(2)));
        Assert.Contains("past the 8-byte data area", e.Message);
    }

    [Fact]
    public void TenGigabyteClaimedTensor()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[50000,50000],"data_offsets":[0,10000000000]}}""", Floats(2)));
        Assert.Equal("a", e.TensorName);
        Assert.Contains("more bytes than", e.Message);
    }

    [Fact]
    public void ShapeAndOffsetsDisagree()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", Floats(3)));
        Assert.Contains("needs 12 bytes", e.Message);
    }

    [Fact]
    public void GapBetweenTensors()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}""", Floats(3)));
        Assert.Contains("gap", e.Message);
    }

    [Fact]
    public void TrailingBytesAfterTheLastTensor()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", Floats(2)));
        Assert.Contains("trailing", e.Message);
    }

    [Fact]
    public void BadJson() => Assert.Contains("not valid JSON", Refused(Raw("{\"a\":", [])).Message);

    [Fact]
    public void BadUtf8() => Assert.Contains("UTF-8", Refused(Raw(new byte[] { (byte)'{', 0xFF, (byte)'}' }, [])).Message);

    [Fact]
    public void HeaderNotAnObject() => Assert.Contains("not an object", Refused(Raw("[1,2]", [])).Message);

    [Fact]
    public void UnknownDType()
    {
        var e = Refused(Raw("""{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}""", [0]));
        Assert.Contains("'Q4'", e.Message);
    }

    [Fact]
    public void NumericDTypeNameIsNotAType()
    {
        var e = Refused(Raw("""{"a":{"dtype":"0","shape":[1],"data_offsets":[0,4]}}""", Floats(1)));
        Assert.Contains("dtype '0'", e.Message);
    }

    [Fact]
    public void MetadataValuesMustBeStrings()
    {
        var e = Refused(Raw("""{"__metadata__":{"n":1}}""", []));
        Assert.Contains("not a string", e.Message);
    }

    [Fact]
    public void DuplicateTensorNames()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", Floats(2)));
        Assert.Contains("twice", e.Message);
    }

    [Fact]
    public void NegativeDimension()
    {
        var e = Refused(Raw("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", Floats(1)));
        Assert.Contains("non-negative", e.Message);
    }
}
