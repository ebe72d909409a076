namespace StableDiffusion.Prompts;

/// <summary>
/// A1111's conditioning of a batch of texts (<c>FrozenCLIPEmbedderWithCustomWords.forward</c>): each chunk index is
/// encoded for all texts at once, emphasis is applied over that batch, and each text's chunks are concatenated along
/// the token axis, giving [77 × chunks, hidden] per text.
/// </summary>
public static class A1111Conditioning
{
    /// <summary>Encodes <paramref name="batch"/>.</summary>
    /// <param name="batch">The chunked texts.</param>
    /// <param name="encodeChunk">
    /// The text encoder on token ids [texts, 77] (row-major; the batch size is ids.Length / 77), returning the hidden
    /// states [texts, 77, hidden] A1111 takes for its CLIP skip (last_hidden_state, or final_layer_norm of an earlier layer).
    /// </param>
    /// <param name="emphasis">How the multipliers are applied.</param>
    /// <returns>Per text, its conditioning [77 × ChunkCount, hidden].</returns>
    public static float[][] Encode(A1111ChunkBatch batch, Func<int[], float[]> encodeChunk, EmphasisMode emphasis)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(encodeChunk);
        int texts = batch.Texts.Count;
        int perChunk = texts * A1111Chunker.ChunkTokens;
        float[][] result = new float[texts][];
        int hidden = 0;
        for (int chunk = 0; chunk < batch.ChunkCount; chunk++)
        {
            float[] z = encodeChunk(batch.Tokens(chunk));
            if (z.Length == 0 || z.Length % perChunk != 0)
                throw new InvalidOperationException($"The text encoder returned {z.Length} values for {texts} × {A1111Chunker.ChunkTokens} tokens.");
            if (chunk == 0)
            {
                hidden = z.Length / perChunk;
                for (int t = 0; t < texts; t++) result[t] = new float[batch.ChunkCount * A1111Chunker.ChunkTokens * hidden];
            }
            else if (z.Length != perChunk * hidden)
                throw new InvalidOperationException($"The text encoder returned {z.Length / perChunk} values per token for chunk {chunk}, {hidden} before.");

            A1111Emphasis.Apply(emphasis, z, batch.Multipliers(chunk));
            int rowLength = A1111Chunker.ChunkTokens * hidden;
            for (int t = 0; t < texts; t++)
                Array.Copy(z, t * rowLength, result[t], chunk * rowLength, rowLength);
        }
        return result;
    }
}
