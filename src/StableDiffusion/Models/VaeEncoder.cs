using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

/// <summary>
/// The VAE encoder: image [B,3,H,W] in [-1, 1] → latent distribution parameters [B,2C,H/8,W/8] (mean ‖ logvar, logvar not
/// clamped), which <see cref="LatentDistribution"/> samples with each image's generator as diffusers does.
/// </summary>
public sealed class VaeEncoder : OnnxComponent
{
    /// <summary>The component name sessions are created under.</summary>
    public const string Component = "vae_encoder";

    private readonly (string Name, NodeMetadata Meta) _sample;
    private readonly (string Name, NodeMetadata Meta) _parameters;

    /// <summary>
    /// Wraps a session whose graph outputs <c>latent_parameters</c> (see <see cref="Load"/> for older exports);
    /// <paramref name="rewritten"/> says the session runs a graph <see cref="LatentParametersRewriter"/> rewrote.
    /// </summary>
    /// <exception cref="ModelLoadException">The graph's inputs or outputs are not a VAE encoder's.</exception>
    public VaeEncoder(InferenceSession session, string path, bool rewritten = false) : base(session, "VAE encoder", path)
    {
        Rewritten = rewritten;
        try
        {
            if (!session.OutputMetadata.ContainsKey(LatentParametersRewriter.OutputName) && session.OutputMetadata.ContainsKey("latent_sample"))
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                    $"The VAE encoder graph '{path}' outputs 'latent_sample', a sample drawn inside the graph without a seed; " +
                    $"load it with {nameof(VaeEncoder)}.{nameof(Load)}, which rewrites it to output the distribution parameters.");
            _sample = Input("sample");
            _parameters = Output(LatentParametersRewriter.OutputName);
            RequireFloat(_sample);
            RequireFloat(_parameters);
            var inputDims = _sample.Meta.Dimensions;
            var outputDims = _parameters.Meta.Dimensions;
            if (inputDims.Length != 4 || inputDims[1] is > 0 and not 3)
                throw Unsupported($"its input '{_sample.Name}' is [{Dims(inputDims)}]; an image [batch, 3, height, width] is expected");
            if (outputDims.Length != 4 || outputDims[1] > 0 && outputDims[1] % 2 != 0)
                throw Unsupported($"its output '{_parameters.Name}' is [{Dims(outputDims)}]; the distribution parameters [batch, 2·channels, height, width] are expected");
            // Every Stable Diffusion VAE has 4 latent channels; a graph that leaves the size symbolic is checked per call.
            LatentChannels = outputDims[1] > 0 ? outputDims[1] / 2 : 4;
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
    }

    /// <summary>C: the latent channels (the parameters have 2C).</summary>
    public int LatentChannels { get; }

    /// <summary>True when the graph drew its sample inside and was rewritten to output the distribution parameters.</summary>
    public bool Rewritten { get; }

    public override TensorElementType FloatType => _sample.Meta.ElementDataType;

    /// <summary>
    /// Loads the encoder at <paramref name="path"/>: an Optimum ≥ 1.23 graph (output <c>latent_parameters</c>) as it is,
    /// an older one that samples inside rewritten in memory to output the parameters. Only the file's output
    /// declarations are read to tell them apart; the whole graph is parsed only when it needs the rewrite.
    /// </summary>
    /// <exception cref="ModelLoadException">The file is missing or unreadable, or the graph cannot give the distribution parameters.</exception>
    public static VaeEncoder Load(SessionFactory sessions, string path)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = System.IO.Path.GetFullPath(path);
        try
        {
            if (OnnxGraphFile.ReadOutputs(full).Any(o => o.Name == LatentParametersRewriter.OutputName))
                return new VaeEncoder(sessions.Create(full, Component), full);
            var rewrite = LatentParametersRewriter.Rewrite(OnnxGraphFile.Load(full, loadExternalData: false));
            if (!rewrite.Found)
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, full,
                    $"The VAE encoder graph '{full}' cannot be used: {rewrite.Description} Image-to-image and inpainting sample the " +
                    "latent distribution with the seed's generator, as diffusers does. Re-export the VAE encoder with Optimum 1.23 or later " +
                    "('optimum-cli export onnx'), whose graph outputs the distribution parameters as 'latent_parameters'.");
            return new VaeEncoder(sessions.Create(rewrite.Model!, Component, null, cudaGraph: false), full, rewritten: true);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelLoadException(ModelLoadError.MissingComponent, full, $"The VAE encoder graph '{full}' does not exist.", e);
        }
        catch (FormatException e)
        {
            throw new ModelLoadException(ModelLoadError.InvalidFile, full, $"The VAE encoder graph cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// Encodes NCHW pixels in [-1, 1]; returns the distribution parameters [batch, 2C, h, w] (h, w = the latent size,
    /// H/8 and W/8 for Stable Diffusion), one row per image.
    /// </summary>
    public float[] EncodeParameters(float[] image, int batch, int height, int width, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        if (image.Length != (long)batch * 3 * height * width)
            throw new ArgumentException($"The image holds {image.Length} values; [{batch}, 3, {height}, {width}] needs {(long)batch * 3 * height * width}.", nameof(image));
        using var input = FloatTensor(_sample.Meta, image, [batch, 3, height, width]);
        using var outputs = Run([_sample.Name], [input], [_parameters.Name], cancellation);
        var dims = outputs[0].GetTensorTypeAndShape().Shape;
        if (dims.Length != 4 || dims[0] != batch || dims[1] != 2 * LatentChannels)
            throw new InvalidOperationException(
                $"The VAE encoder returned [{Dims(dims)}] for [{batch}, 3, {height}, {width}]; [{batch}, {2 * LatentChannels}, h, w] was expected.");
        var parameters = new float[dims[0] * dims[1] * dims[2] * dims[3]];
        CopyOutput(outputs[0], parameters);
        return parameters;
    }

    private ModelLoadException Unsupported(string what) =>
        new(ModelLoadError.UnsupportedGraph, ModelPath, $"The VAE encoder graph '{ModelPath}' is not a Stable Diffusion VAE encoder: {what}.");

    private static string Dims(IEnumerable<long> dims) => string.Join(", ", dims.Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    private static string Dims(IEnumerable<int> dims) => Dims(dims.Select(d => (long)d));
}
