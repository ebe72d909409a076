using System.Globalization;

namespace StableDiffusion.Imaging;

/// <summary>
/// The rule a text must follow to be recorded in a PNG's parameters (<see cref="PngTextChunks"/>' UTF-8 iTXt chunk):
/// no NUL character (the chunk's separator) and no unpaired UTF-16 surrogate (UTF-8 cannot encode one). Prompts are
/// checked with it before any model work, so an image that could not be saved is never generated.
/// </summary>
public static class SavableText
{
    /// <summary>What keeps <paramref name="text"/> from being saved (with its position), or null when it can be.</summary>
    public static string? Problem(string? text)
    {
        if (text is null) return null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\0')
                return $"holds a NUL character (U+0000) at position {i + 1}, which PNG text cannot record";
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                return $"holds an unpaired surrogate (U+{((int)c).ToString("X4", CultureInfo.InvariantCulture)}) at position {i + 1}, " +
                    "half of a character that is not valid Unicode and cannot be saved as UTF-8";
        }
        return null;
    }

    /// <summary>Throws <see cref="InvalidSettingException"/> (error id <c>UnsavableText</c>) when <paramref name="text"/> cannot be saved.</summary>
    /// <param name="setting">The setting that holds the text (Prompt, NegativePrompt…), named in the message.</param>
    /// <param name="text">The text; null passes.</param>
    public static void Check(string setting, string? text)
    {
        if (Problem(text) is { } problem)
            throw new InvalidSettingException(setting, "UnsavableText", text,
                $"{setting} {problem}: remove that character (or, for a surrogate, give the whole character) — every image records its prompts in its PNG.");
    }
}
