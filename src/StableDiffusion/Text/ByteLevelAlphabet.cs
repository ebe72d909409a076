using System.Text;

namespace StableDiffusion.Text;

/// <summary>
/// CLIP's (and GPT-2's) <c>bytes_to_unicode</c>: every byte value gets a printable character so a byte string can be
/// written as text in the vocabulary; printable Latin-1 bytes stand for themselves, the others map to U+0100 upward.
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        var assigned = new bool[256];
        foreach (var (lo, hi) in new[] { ('!', '~'), ('\u00A1', '\u00AC'), ('\u00AE', '\u00FF') })
            for (int b = lo; b <= hi; b++) { map[b] = (char)b; assigned[b] = true; }
        int n = 0;
        for (int b = 0; b < 256; b++)
            if (!assigned[b]) map[b] = (char)(256 + n++);
        return map;
    }

    /// <summary>
    /// transformers' <c>convert_tokens_to_string</c>: joins the tokens, maps each character back to its byte,
    /// decodes UTF-8 with U+FFFD for invalid sequences (Python errors="replace"), turns "&lt;/w&gt;" into a space and strips.
    /// </summary>
    public static string TokensToString(IEnumerable<string> tokens)
    {
        var bytes = new List<byte>();
        foreach (string token in tokens)
            foreach (char c in token)
            {
                if (!CharToByte.TryGetValue(c, out byte b))
                    throw new FormatException($"The token '{token}' contains the character U+{(int)c:X4}, which is not in CLIP's byte alphabet.");
                bytes.Add(b);
            }

        string text = Encoding.UTF8.GetString(bytes.ToArray()).Replace("</w>", " ", StringComparison.Ordinal);
        return PythonText.Strip(text);
    }
}
