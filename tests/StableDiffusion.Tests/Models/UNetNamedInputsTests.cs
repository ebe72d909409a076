using StableDiffusion.Models;
using StableDiffusion.Schedulers;
using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Models;

/// <summary>
/// The UNet's named-tensor inputs, read from the graph: the SDXL fixture UNet takes text_embeds and time_ids beside
/// sample, timestep (a rank-0 float32 scalar in current optimum exports; int64 [steps] in the legacy one) and
/// encoder_hidden_states. Fed the stored inputs of diffusers' run, the plain session, fixed-shape sessions and the
/// IOBinding path all give diffusers' UNet output (README: ONNX Runtime vs torch ≤ 1e-5), and a missing input is refused
/// by name.
/// </summary>
public sealed class UNetNamedInputsTests
{
    private static string Sdxl(params string[] parts) => Path.Combine([Fixtures.Root, .. parts]);
    private static string Case(string file) => Sdxl("tiny-sdxl", "expected", "pipeline-diffusers-0.35", "euler20_default", file);

    private static UNet Load(string path, bool fixedShapes, bool ioBinding)
    {
        var sessions = new SessionFactory(ExecutionProvider.Cpu);
        var shapeSessions = fixedShapes
            ? new UNetShapeSessions((dims, cudaGraph) => sessions.Create(path, "unet", dims, cudaGraph)) { IOBinding = ioBinding }
            : null;
        return new UNet(sessions.Create(path, "unet"), path, shapeSessions);
    }

    public static TheoryData<string, bool, bool> Paths() => new()
    {
        { "tiny-sdxl", false, false },
        { "tiny-sdxl", true, false },
        { "tiny-sdxl", true, true },
        { "tiny-sdxl-legacy-timestep", false, false },
        { "tiny-sdxl-legacy-timestep", true, true },
    };

    [Theory]
    [MemberData(nameof(Paths))]
    public void NamedInputsGiveDiffusersUNetOutput(string folder, bool fixedShapes, bool ioBinding)
    {
        using var unet = Load(Sdxl(folder, "unet", "model.onnx"), fixedShapes, ioBinding);
        Assert.Equal(["text_embeds", "time_ids"], unet.ExtraInputs.Order().ToArray());
        Assert.Equal(4, unet.InChannels);
        Assert.Equal(4, unet.OutChannels);

        var samples = Fixtures.ReadF32(Case("unet_input_sample.f32"));   // [20, 2, 4, 8, 8]
        var outputs = Fixtures.ReadF32(Case("unet_output.f32"));
        var timesteps = Fixtures.ReadF64(Case("unet_input_timestep.f64"));
        float[] hidden = [.. Fixtures.ReadF32(Case("prompt_embeds_uncond.f32")), .. Fixtures.ReadF32(Case("prompt_embeds_cond.f32"))];
        NamedTensor[] extras =
        [
            new("text_embeds", Fixtures.ReadF32(Case("unet_input_text_embeds.f32")), [2, 20]),
            new("time_ids", Fixtures.ReadF32(Case("unet_input_time_ids.f32")), [2, 6]),
        ];
        var shape = new LatentShape(2, 4, 8, 8);
        using var run = unet.Start(hidden, shape, 77, extras);
        Assert.Equal(fixedShapes, run.UsesFixedShapes);
        var output = new float[shape.Length];
        for (int i = 0; i < 3; i++)
        {
            run.Predict(samples.AsSpan(i * shape.Length, shape.Length).ToArray(), timesteps[i], output);
            Compare.Close(outputs.AsSpan(i * shape.Length, shape.Length), output, 1e-5, $"{folder} UNet output, iteration {i}");
        }
    }

    [Fact]
    public void AMissingOrUnknownInputIsRefusedByName()
    {
        using var unet = Load(Sdxl("tiny-sdxl", "unet", "model.onnx"), fixedShapes: false, ioBinding: false);
        var hidden = new float[2 * 77 * 40];
        var shape = new LatentShape(2, 4, 8, 8);
        var missing = Assert.Throws<ArgumentException>(() => unet.Start(hidden, shape, 77, [new NamedTensor("text_embeds", new float[40], [2, 20])]));
        Assert.Contains("'time_ids'", missing.Message);
        var unknown = Assert.Throws<ArgumentException>(() => unet.Start(hidden, shape, 77,
            [new("text_embeds", new float[40], [2, 20]), new("time_ids", new float[12], [2, 6]), new("timestep_cond", new float[2], [2, 1])]));
        Assert.Contains("'timestep_cond'", unknown.Message);
        var channels = Assert.Throws<ArgumentException>(() => unet.Start(hidden, shape with { Channels = 9 }, 77, []));
        Assert.Contains("4-channel", channels.Message);
    }

    [Fact]
    public void TheInpaintingUNetReadsNineInputChannelsAndFourOutputChannels()
    {
        var path = Path.Combine(Fixtures.Root, "tiny-sd-inpaint", "unet", "model.onnx");
        using var unet = new UNet(new SessionFactory(ExecutionProvider.Cpu).Create(path, "unet"), path, null,
            StableDiffusion.Models.ModelFolder.Open(Path.Combine(Fixtures.Root, "tiny-sd-inpaint")).UNetChannels);
        Assert.Equal(9, unet.InChannels);
        Assert.Equal(4, unet.OutChannels);
        Assert.Empty(unet.ExtraInputs);
        // Without the config, the channels come from the graph's first convolution (the input's channel axis is symbolic).
        using var probed = new UNet(new SessionFactory(ExecutionProvider.Cpu).Create(path, "unet"), path);
        Assert.Equal(9, probed.InChannels);
        var model = StableDiffusion.Graph.OnnxGraphFile.Load(path, loadExternalData: false);
        Assert.Equal(9, StableDiffusion.Graph.InputChannels.OfFirstConv(model, "sample"));
        Assert.Equal(4, StableDiffusion.Graph.InputChannels.OfFirstConv(StableDiffusion.Graph.OnnxGraphFile.Load(Path.Combine(Fixtures.TinySd, "unet", "model.onnx"), loadExternalData: false), "sample"));
    }
}
