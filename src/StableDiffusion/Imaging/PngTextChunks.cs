using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace StableDiffusion.Imaging;

/// <summary>
/// Reads and builds PNG text chunks. Writing always uses an uncompressed iTXt chunk (UTF-8, no language tag), so
/// any prompt survives; reading understands tEXt (Latin-1), zTXt and iTXt (compressed or not), the three forms
/// other tools (PIL, ImageSharp, web UIs) write.
/// </summary>
internal static class PngTextChunks
{
    /// <summary>PNG file signature.</summary>
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC).</summary>
    public const int HeaderLength = 33;

    private static readonly Encoding Latin1 = Encoding.Latin1;
    private static readonly Encoding StrictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Checks that <paramref name="png"/> starts with the signature and an IHDR chunk; returns where IHDR ends.</summary>
    public static int HeaderEnd(ReadOnlySpan<byte> png)
    {
        if (png.Length < HeaderLength || !png[..8].SequenceEqual(Signature)
            || BinaryPrimitives.ReadUInt32BigEndian(png[8..]) != 13 || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
            throw new InvalidDataException("The encoder did not produce a PNG that starts with an IHDR chunk.");
        return HeaderLength;
    }

    /// <summary>Throws unless <paramref name="keyword"/> is a valid PNG keyword (1-79 printable Latin-1 characters, single inner spaces).</summary>
    public static void ValidateKeyword(string keyword, string paramName)
    {
        ArgumentNullException.ThrowIfNull(keyword, paramName);
        bool valid = keyword.Length is >= 1 and <= 79 && keyword[0] != ' ' && keyword[^1] != ' '
                     && !keyword.Contains("  ", StringComparison.Ordinal)
                     && keyword.All(c => c is >= ' ' and <= '~' or >= '\u00A1' and <= '\u00FF');
        if (!valid)
            throw new ArgumentException(
                $"'{keyword}' is not a valid PNG text keyword: use 1 to 79 printable Latin-1 characters without leading, " +
                "trailing or double spaces (e.g. \"parameters\").", paramName);
    }

    /// <summary>A complete iTXt chunk (length, type, data, CRC): keyword, no compression, empty language tag and translated keyword, UTF-8 text.</summary>
    public static byte[] BuildInternationalText(string keyword, string text, string paramName)
    {
        ValidateKeyword(keyword, paramName);
        ArgumentNullException.ThrowIfNull(text, paramName);
        // The one rule of what PNG text can hold, which prompts are checked against before any model work.
        if (SavableText.Problem(text) is { } problem)
            throw new ArgumentException($"The text for '{keyword}' {problem}.", paramName);

        byte[] textBytes;
        try
        {
            textBytes = StrictUtf8.GetBytes(text);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException($"The text for '{keyword}' is not valid Unicode (unpaired surrogate).", paramName, e);
        }

        int keywordLength = keyword.Length; // Latin-1: one byte per character
        // keyword \0, compression flag, compression method, language tag \0, translated keyword \0, text
        int dataLength = keywordLength + 5 + textBytes.Length;
        var chunk = new byte[12 + dataLength];
        Span<byte> span = chunk;
        BinaryPrimitives.WriteInt32BigEndian(span, dataLength);
        "iTXt"u8.CopyTo(span[4..]);
        Span<byte> data = span.Slice(8, dataLength);
        Latin1.GetBytes(keyword, data);
        // The five bytes after the keyword stay zero: separator, uncompressed, method 0, empty tag, empty translation.
        textBytes.CopyTo(data[(keywordLength + 5)..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(8 + dataLength)..], PngCrc32.Compute(span.Slice(4, 4), data));
        return chunk;
    }

    /// <summary>
    /// All text chunks of a PNG stream as keyword → text (the first chunk wins when a keyword repeats).
    /// </summary>
    /// <exception cref="InvalidDataException">Not a PNG, truncated, or a text chunk is damaged.</exception>
    public static Dictionary<string, string> Read(Stream stream, string nameForErrors)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        Span<byte> head = stackalloc byte[8];
        if (!TryReadExactly(stream, head) || !head.SequenceEqual(Signature))
            throw new InvalidDataException($"'{nameForErrors}' is not a PNG file (the PNG signature is missing).");

        while (true)
        {
            if (!TryReadExactly(stream, head))
                throw new InvalidDataException($"'{nameForErrors}' is truncated: it ends before the IEND chunk.");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
            string type = Encoding.ASCII.GetString(head[4..]);
            if (length > int.MaxValue || (stream.CanSeek && length > stream.Length - stream.Position))
                throw new InvalidDataException($"'{nameForErrors}' is damaged: the {type} chunk claims {length} bytes.");

            if (type is "tEXt" or "zTXt" or "iTXt")
            {
                var data = new byte[length + 4];
                if (!TryReadExactly(stream, data))
                    throw new InvalidDataException($"'{nameForErrors}' is truncated inside a {type} chunk.");
                uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan((int)length));
                if (storedCrc != PngCrc32.Compute(head[4..], data.AsSpan(0, (int)length)))
                    throw new InvalidDataException($"'{nameForErrors}' is damaged: a {type} chunk fails its CRC check.");
                (string keyword, string text) = Decode(type, data.AsSpan(0, (int)length), nameForErrors);
                result.TryAdd(keyword, text);
            }
            else if (type == "IEND")
            {
                return result;
            }
            else
            {
                Skip(stream, (long)length + 4, nameForErrors);
            }
        }
    }

    private static (string Keyword, string Text) Decode(string type, ReadOnlySpan<byte> data, string nameForErrors)
    {
        int keywordEnd = data.IndexOf((byte)0);
        if (keywordEnd <= 0)
            throw new InvalidDataException($"'{nameForErrors}' has a {type} chunk without a keyword.");
        string keyword = Latin1.GetString(data[..keywordEnd]);
        ReadOnlySpan<byte> rest = data[(keywordEnd + 1)..];

        switch (type)
        {
            case "tEXt":
                return (keyword, Latin1.GetString(rest));
            case "zTXt":
                if (rest.Length < 1 || rest[0] != 0)
                    throw new InvalidDataException($"'{nameForErrors}': zTXt chunk '{keyword}' uses an unknown compression method.");
                return (keyword, Latin1.GetString(Inflate(rest[1..], keyword, nameForErrors)));
            default: // iTXt
            {
                if (rest.Length < 2)
                    throw new InvalidDataException($"'{nameForErrors}': iTXt chunk '{keyword}' is too short.");
                bool compressed = rest[0] != 0;
                if (compressed && rest[1] != 0)
                    throw new InvalidDataException($"'{nameForErrors}': iTXt chunk '{keyword}' uses an unknown compression method.");
                rest = rest[2..];
                int languageEnd = rest.IndexOf((byte)0);
                if (languageEnd < 0)
                    throw new InvalidDataException($"'{nameForErrors}': iTXt chunk '{keyword}' has no language tag terminator.");
                rest = rest[(languageEnd + 1)..];
                int translatedEnd = rest.IndexOf((byte)0);
                if (translatedEnd < 0)
                    throw new InvalidDataException($"'{nameForErrors}': iTXt chunk '{keyword}' has no translated keyword terminator.");
                rest = rest[(translatedEnd + 1)..];
                byte[] textBytes = compressed ? Inflate(rest, keyword, nameForErrors) : rest.ToArray();
                try
                {
                    return (keyword, StrictUtf8.GetString(textBytes));
                }
                catch (DecoderFallbackException e)
                {
                    throw new InvalidDataException($"'{nameForErrors}': iTXt chunk '{keyword}' is not valid UTF-8.", e);
                }
            }
        }
    }

    // A compressed text chunk may not expand past this (a guard against decompression bombs).
    private const int MaxInflatedTextBytes = 16 * 1024 * 1024;

    private static byte[] Inflate(ReadOnlySpan<byte> zlib, string keyword, string nameForErrors)
    {
        try
        {
            using var input = new MemoryStream(zlib.ToArray(), writable: false);
            using var inflater = new ZLibStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[16384];
            int read;
            while ((read = inflater.Read(buffer)) > 0)
            {
                if (output.Length + read > MaxInflatedTextBytes)
                    throw new InvalidDataException(
                        $"'{nameForErrors}': the compressed text of '{keyword}' expands beyond {MaxInflatedTextBytes} bytes.");
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{nameForErrors}': the compressed text of '{keyword}' is damaged.", e);
        }
    }

    private static bool TryReadExactly(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) == buffer.Length;

    private static void Skip(Stream stream, long count, string nameForErrors)
    {
        if (stream.CanSeek)
        {
            if (count > stream.Length - stream.Position)
                throw new InvalidDataException($"'{nameForErrors}' is truncated inside a chunk.");
            stream.Seek(count, SeekOrigin.Current);
            return;
        }
        Span<byte> scratch = stackalloc byte[4096];
        while (count > 0)
        {
            int read = stream.Read(scratch[..(int)Math.Min(count, scratch.Length)]);
            if (read == 0)
                throw new InvalidDataException($"'{nameForErrors}' is truncated inside a chunk.");
            count -= read;
        }
    }
}
