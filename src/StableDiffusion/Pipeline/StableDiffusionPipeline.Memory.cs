using StableDiffusion.Graph;
using StableDiffusion.Models;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Pipeline;

// Memory controls: attention slicing (a rewritten UNet graph), VAE slicing, UNet sub-batches, low-memory mode.
public sealed partial class StableDiffusionPipeline
{
    private TextEncoder? _textEncoder;
    private VaeDecoder? _vaeDecoder;
    private int? _unetBatchSize;
    private bool _vaeSlicing;

    /// <summary>The memory controls the pipeline was loaded with.</summary>
    public MemoryOptions Memory => _sessions.Memory;

    /// <summary>The active attention slicing (a rewritten UNet), or null when the UNet runs its original graph.</summary>
    public AttentionSlicingResult? AttentionSlicing { get; private set; }

    /// <summary>Decode the images of a batch one at a time (diffusers' <c>enable_vae_slicing</c>): the VAE's peak is that of one image.</summary>
    public bool VaeSlicing
    {
        get => _vaeSlicing;
        set
        {
            ThrowIfDisposed();
            _vaeSlicing = value;
        }
    }

    /// <summary>
    /// The largest batch one UNet call gets (null: the whole batch, i.e. 2 × images with guidance). Larger batches run
    /// in consecutive sub-batches with the same results, so a batch that does not fit the device can still run.
    /// </summary>
    public int? UNetBatchSize
    {
        get => _unetBatchSize;
        set
        {
            if (value is < 1)
                throw new ArgumentOutOfRangeException(nameof(UNetBatchSize), value, "The UNet batch size must be 1 or more (or null for no limit).");
            ThrowIfDisposed();
            _unetBatchSize = value;
        }
    }

    /// <summary>
    /// Rewrites the UNet so that every attention computes its scores over head slices one after another, and switches
    /// to it (the new session is built before the old one is released: a failure leaves the old UNet working). Returns what was done: a
    /// graph with fused attention, or one whose attention cannot be rewritten safely, is left as it is
    /// (<see cref="AttentionSlicingResult.Changed"/> false; <see cref="AttentionSlicingResult.Describe"/> says why).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fixed slice size exceeds the head count of an attention.</exception>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed.</exception>
    public AttentionSlicingResult EnableAttentionSlicing(AttentionSliceSize size) => _gate.Run(CancellationToken.None, _ =>
    {
        lock (_runLock)
        {
            var graph = OnnxGraphFile.Load(Model.UNetPath, loadExternalData: false);
            var result = AttentionSlicer.Slice(graph, size);
            if (!result.Changed)
            {
                // One slice per attention is the unsliced graph.
                if (result.Outcome == AttentionSlicingOutcome.NothingToSlice) SwitchUNet(null);
                return result;
            }
            SwitchUNet(result);
            return result;
        }
    });

    /// <summary>Goes back to the original UNet graph (nothing happens when slicing is off).</summary>
    /// <exception cref="PipelineDisposedException">The pipeline was disposed.</exception>
    public void DisableAttentionSlicing() => _gate.Run(() =>
    {
        lock (_runLock)
            SwitchUNet(null);
    });

    /// <summary>
    /// Builds the UNet for <paramref name="slicing"/> (null: the original graph) and only then swaps it in and releases the
    /// old one, so a failure (unreadable weights, out of memory) leaves the old UNet working and the slicing as it was.
    /// The trade-off: while the new session is created both are resident — one more copy of the UNet's weights (about
    /// 1.7 GB for SD 1.5 in float16, 3.4 GB in float32, 5 GB for SDXL in float16) on top of the old UNet's cached
    /// sessions. Releasing the old first avoids that peak but, when the new one fails, leaves no working UNet unless
    /// the old one can be loaded again (the failure that broke pipelines). Under the pipeline's lock: no run is using it.
    /// </summary>
    private void SwitchUNet(AttentionSlicingResult? slicing)
    {
        if (slicing is null && AttentionSlicing is null) return;
        var next = LoadUNet(_sessions, Model.UNetPath, slicing?.Model, Options, Model.UNetChannels);
        var old = _unet;
        _unet = next;
        AttentionSlicing = slicing;
        old.Dispose();
    }

    /// <summary>Whether the text encoder / VAE decoder sessions are resident now (low-memory mode releases them).</summary>
    internal (bool TextEncoder, bool VaeDecoder) ResidentSessions => (_textEncoder is not null, _vaeDecoder is not null);

    private TextEncoder? _textEncoder2;

    private TextEncoder LoadTextEncoder()
    {
        if (HasEmbeddings) return LoadEmbeddedTextEncoder(); // textual inversion: the extended table
        string path = Model.HasTextEncoder ? Model.TextEncoderPath : Model.TextEncoder2Path;
        return new(_sessions.Create(path, "text_encoder"), path);
    }

    private TextEncoder LoadTextEncoder2() => new(_sessions.Create(Model.TextEncoder2Path, "text_encoder_2"), Model.TextEncoder2Path);

    private VaeDecoder LoadVaeDecoder()
    {
        var path = Vae?.DecoderPath ?? Model.VaeDecoderPath;
        return new VaeDecoder(_sessions.Create(path, "vae_decoder"), path);
    }

    /// <summary>In low-memory mode, releases the text encoder and VAE sessions (they load again on their next use).</summary>
    private void ReleaseIdleSessions()
    {
        if (!Memory.LowMemory) return;
        _textEncoder?.Dispose();
        _textEncoder = null;
        _textEncoder2?.Dispose();
        _textEncoder2 = null;
        _vaeDecoder?.Dispose();
        _vaeDecoder = null;
        _vaeEncoder?.Dispose();
        _vaeEncoder = null;
    }

    /// <summary>VAE decode of the batch, image by image when <see cref="VaeSlicing"/> is on.</summary>
    private (float[] Pixels, int Height, int Width) DecodeLatents(float[] latents, LatentShape shape, CancellationToken cancellation)
    {
        float[] pixels;
        int height, width;
        if (!VaeSlicing || shape.Batch == 1)
        {
            pixels = VaeDecoder.Decode(latents, shape, out height, out width, cancellation);
        }
        else
        {
            var one = shape with { Batch = 1 };
            var first = VaeDecoder.Decode(latents.AsSpan(0, shape.ImageLength).ToArray(), one, out height, out width, cancellation);
            pixels = new float[first.Length * shape.Batch];
            first.CopyTo(pixels, 0);
            for (int i = 1; i < shape.Batch; i++)
            {
                var image = VaeDecoder.Decode(latents.AsSpan(i * shape.ImageLength, shape.ImageLength).ToArray(), one, out _, out _, cancellation);
                image.CopyTo(pixels, i * first.Length);
            }
        }
        ReleaseIdleSessions();
        return (pixels, height, width);
    }
}
