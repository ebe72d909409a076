using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using StableDiffusion.Graph;

namespace StableDiffusion.Models;

/// <summary>
/// The CLIP text encoder: token ids [B, 77] → last_hidden_state [B, 77, D] (<see cref="Encode"/>, SD 1.x/2.x), or one
/// of the per-layer hidden states plus the projected pooled output (<see cref="EncodeAll"/>, SDXL).
/// </summary>
public sealed class TextEncoder : OnnxComponent
{
    private const string HiddenStatePrefix = "hidden_states.";
    private const string PooledName = "text_embeds";

    private readonly (string Name, NodeMetadata Meta) _ids;
    private readonly (string Name, NodeMetadata Meta) _hidden;
    private readonly string[] _hiddenStates; // hidden_states.0 … hidden_states.L, as optimum exports them
    private readonly bool _hasPooled;
    private readonly Dictionary<int, (InferenceSession Session, string Output)> _clipSkipSessions = [];

    public TextEncoder(InferenceSession session, string path) : base(session, "text encoder", path)
    {
        try
        {
            _ids = Input("input_ids");
            if (_ids.Meta.ElementDataType is not (TensorElementType.Int32 or TensorElementType.Int64))
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, path,
                    $"The text encoder's input_ids are {_ids.Meta.ElementDataType}; int32 or int64 is expected.");
            _hidden = Output("last_hidden_state");
            RequireFloat(_hidden);
            var dims = _hidden.Meta.Dimensions;
            HiddenSize = dims.Length == 3 && dims[2] > 0 ? dims[2] : 0;
            _hiddenStates = HiddenStateOutputs(session.OutputMetadata);
            _hasPooled = session.OutputMetadata.ContainsKey(PooledName);
        }
        catch
        {
            Dispose(); // the session must not outlive a graph we refuse
            throw;
        }
    }

    /// <summary>Width of an embedding (768 for SD 1.x, 1024 for SD 2.x), 0 until the first call when the graph leaves it free.</summary>
    public int HiddenSize { get; private set; }

    /// <summary>
    /// How many <c>hidden_states.N</c> outputs the graph has (transformers' <c>hidden_states</c> tuple: the embeddings,
    /// then one per layer, the last before the final layer norm); 0 for exports without them.
    /// </summary>
    public int HiddenStateCount => _hiddenStates.Length;

    /// <summary>Whether the graph outputs <c>text_embeds</c> (CLIPTextModelWithProjection: SDXL's text_encoder_2).</summary>
    public bool HasPooledOutput => _hasPooled;

    public override TensorElementType FloatType => _hidden.Meta.ElementDataType;

    /// <summary>Encodes <paramref name="batch"/> sequences of <paramref name="sequenceLength"/> ids.</summary>
    public float[] Encode(ReadOnlySpan<int> ids, int batch, int sequenceLength, CancellationToken cancellation = default)
    {
        using var input = IdsTensor(ids, batch, sequenceLength);
        using var outputs = Run([_ids.Name], [input], [_hidden.Name], cancellation);
        var result = new float[outputs[0].GetTensorTypeAndShape().ElementCount];
        HiddenSize = CopyHidden(outputs[0], result);
        return result;
    }

    /// <summary>
    /// Encodes <paramref name="batch"/> sequences and returns the hidden state <paramref name="hiddenStateIndex"/> of
    /// transformers' <c>hidden_states</c> tuple (a negative index counts from the end, as Python's: diffusers' SDXL
    /// <c>hidden_states[-2]</c> is −2) and, when <paramref name="pooled"/>, the graph's <c>text_embeds</c>.
    /// </summary>
    /// <exception cref="ModelLoadException">The graph has no <c>hidden_states.N</c> outputs, or no <c>text_embeds</c> when <paramref name="pooled"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside the tuple.</exception>
    public TextEncoderOutputs EncodeAll(ReadOnlySpan<int> ids, int batch, int sequenceLength, int hiddenStateIndex, bool pooled,
        CancellationToken cancellation = default)
    {
        string hiddenName = HiddenStateName(hiddenStateIndex);
        if (pooled && !_hasPooled)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                $"The text encoder graph '{ModelPath}' has no '{PooledName}' output (the projected pooled embedding of " +
                "CLIPTextModelWithProjection, SDXL's text_encoder_2). Is this the right file?");

        using var input = IdsTensor(ids, batch, sequenceLength);
        using var outputs = Run([_ids.Name], [input], pooled ? [hiddenName, PooledName] : [hiddenName], cancellation);
        var hidden = new float[outputs[0].GetTensorTypeAndShape().ElementCount];
        int hiddenSize = CopyHidden(outputs[0], hidden);
        if (!pooled) return new TextEncoderOutputs(hidden, hiddenSize, null, 0);

        // text_embeds' declared dims say [batch_size, sequence_length] (optimum's axis name); the data is [B, projection].
        var pooledInfo = outputs[1].GetTensorTypeAndShape();
        if (pooledInfo.Shape.Length != 2 || pooledInfo.Shape[0] != batch)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                $"The text encoder's '{PooledName}' has shape [{string.Join(", ", pooledInfo.Shape)}]; [{batch}, projection] was expected.");
        var pooledValues = new float[pooledInfo.ElementCount];
        CopyOutput(outputs[1], pooledValues);
        return new TextEncoderOutputs(hidden, hiddenSize, pooledValues, (int)pooledInfo.Shape[1]);
    }

    /// <summary>
    /// diffusers' clip_skip (SD 1.x/2.x): encodes <paramref name="batch"/> sequences once and returns last_hidden_state and
    /// <c>final_layer_norm(hidden_states[-(clipSkip + 1)])</c>, both [batch, sequence, D]. The exports output no hidden states,
    /// so this runs a copy of the graph that also outputs that layer through the final layer norm
    /// (<see cref="ClipSkipRewriter"/>), made and loaded by <paramref name="createSession"/> on the first call for each
    /// <paramref name="clipSkip"/> and kept, beside the load-time session, until this encoder is disposed.
    /// </summary>
    /// <exception cref="ModelLoadException">The graph file cannot be read, or its encoder's structure was not recognized.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="clipSkip"/> is below 1 or above the encoder's layer count.</exception>
    public (float[] LastHiddenState, float[] Skipped) EncodeClipSkip(ReadOnlySpan<int> ids, int batch, int sequenceLength, int clipSkip,
        Func<OnnxGraphFile, InferenceSession> createSession, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(createSession);
        var (session, skippedName) = ClipSkipSession(clipSkip, createSession);
        using var input = IdsTensor(ids, batch, sequenceLength);
        using var outputs = Run(session, [_ids.Name], [input], [_hidden.Name, skippedName], cancellation);
        var last = new float[outputs[0].GetTensorTypeAndShape().ElementCount];
        HiddenSize = CopyHidden(outputs[0], last);
        var skipped = new float[last.Length];
        CopyOutput(outputs[1], skipped);
        return (last, skipped);
    }

    /// <summary>
    /// The graph this session runs when it is not the file at <c>ModelPath</c> as it is (textual inversion's extended
    /// token-embedding table): what clip skip rewrites. Null: the file.
    /// </summary>
    public Func<OnnxGraphFile>? GraphSource { get; init; }

    /// <summary>How many rewritten clip-skip sessions are loaded (one per clip-skip value used).</summary>
    internal int ClipSkipSessionCount
    {
        get
        {
            lock (_clipSkipSessions) return _clipSkipSessions.Count;
        }
    }

    private (InferenceSession Session, string Output) ClipSkipSession(int clipSkip, Func<OnnxGraphFile, InferenceSession> createSession)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(clipSkip, 1);
        lock (_clipSkipSessions)
        {
            if (_clipSkipSessions.TryGetValue(clipSkip, out var cached)) return cached;
            OnnxGraphFile graph;
            try
            {
                graph = GraphSource?.Invoke() ?? OnnxGraphFile.Load(ModelPath, loadExternalData: false);
            }
            catch (Exception e) when (e is FileNotFoundException or FormatException)
            {
                throw new ModelLoadException(ModelLoadError.InvalidFile, ModelPath,
                    $"ClipSkip rewrites the text encoder graph '{ModelPath}', which cannot be read: {e.Message}", e);
            }
            var rewrite = ClipSkipRewriter.Rewrite(graph, clipSkip);
            if (!rewrite.Found)
                throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                    $"ClipSkip needs the text encoder's hidden states, which the graph '{ModelPath}' does not output, and it cannot be rewritten " +
                    $"to output them: {rewrite.Description} Leave ClipSkip out, or use an export whose encoder is a plain CLIP text model.");
            var session = createSession(rewrite.Model!);
            if (!session.OutputMetadata.ContainsKey(rewrite.OutputName!))
            {
                session.Dispose();
                throw new InvalidOperationException($"The rewritten text encoder session has no '{rewrite.OutputName}' output.");
            }
            return _clipSkipSessions[clipSkip] = (session, rewrite.OutputName!);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            lock (_clipSkipSessions)
            {
                foreach (var (session, _) in _clipSkipSessions.Values) session.Dispose();
                _clipSkipSessions.Clear();
            }
        base.Dispose(disposing);
    }

    private string HiddenStateName(int hiddenStateIndex)
    {
        if (_hiddenStates.Length == 0)
            throw new ModelLoadException(ModelLoadError.UnsupportedGraph, ModelPath,
                $"The text encoder graph '{ModelPath}' has no 'hidden_states.N' outputs, which SDXL needs (the penultimate layer). " +
                "Re-export the model with optimum (optimum-cli export onnx), which adds hidden_states.0 … hidden_states.N.");
        int resolved = hiddenStateIndex < 0 ? _hiddenStates.Length + hiddenStateIndex : hiddenStateIndex;
        if (resolved < 0 || resolved >= _hiddenStates.Length)
            throw new ArgumentOutOfRangeException(nameof(hiddenStateIndex), hiddenStateIndex,
                $"The text encoder has {_hiddenStates.Length} hidden states (hidden_states.0 … hidden_states.{_hiddenStates.Length - 1}); " +
                $"index {hiddenStateIndex} is outside them (valid: {-_hiddenStates.Length} … {_hiddenStates.Length - 1}). (diffusers' clip_skip k reads index −(k + 2), so k must stay below the encoder's layer count.)");
        return _hiddenStates[resolved];
    }

    private OrtValue IdsTensor(ReadOnlySpan<int> ids, int batch, int sequenceLength)
    {
        if (ids.Length != batch * sequenceLength) throw new ArgumentException("ids.Length must be batch × sequenceLength.", nameof(ids));
        long[] shape = [batch, sequenceLength];
        return _ids.Meta.ElementDataType == TensorElementType.Int32
            ? OrtValue.CreateTensorValueFromMemory(ids.ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(ToInt64(ids), shape);
    }

    private int CopyHidden(OrtValue value, float[] destination)
    {
        CopyOutput(value, destination);
        return (int)value.GetTensorTypeAndShape().Shape[^1];
    }

    /// <summary>hidden_states.0 … hidden_states.L in order; empty unless the graph has every index from 0 up.</summary>
    private static string[] HiddenStateOutputs(IReadOnlyDictionary<string, NodeMetadata> outputs)
    {
        int count = 0;
        while (outputs.ContainsKey(HiddenStatePrefix + count.ToString(CultureInfo.InvariantCulture))) count++;
        var names = new string[count];
        for (int i = 0; i < count; i++) names[i] = HiddenStatePrefix + i.ToString(CultureInfo.InvariantCulture);
        return names;
    }

    private static long[] ToInt64(ReadOnlySpan<int> ids)
    {
        var wide = new long[ids.Length];
        for (int i = 0; i < ids.Length; i++) wide[i] = ids[i];
        return wide;
    }
}
