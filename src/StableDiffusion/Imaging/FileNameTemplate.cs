using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace StableDiffusion.Imaging;

/// <summary>
/// File names from a template such as <c>{date}-{seed}-{prompt}</c>. Tokens: {seed}, {index}, {prompt}, {negative},
/// {steps}, {guidance}, {scheduler}, {width}, {height}, {model}, {date}, {time}; a format may follow a colon
/// (<c>{index:0000}</c>, <c>{date:yyyy-MM-dd}</c>, <c>{prompt:40}</c> = at most 40 characters).
/// Every substituted value is sanitized for Windows and Unix file systems alike, so a prompt can never add a folder,
/// climb out of the target directory, or name a device. <see cref="Resolve"/> verifies the final path stays inside.
/// </summary>
public sealed partial class FileNameTemplate
{
    /// <summary>The default: <c>{index:0000}-{seed}</c>.</summary>
    public const string Default = "{index:0000}-{seed}";

    /// <summary>Characters kept of the prompt unless the token says otherwise.</summary>
    public const int DefaultPromptLength = 48;

    /// <summary>Longest file name (without extension) in UTF-16 code units; file systems allow 255 bytes.</summary>
    public const int MaxNameLength = 120;

    private static readonly string[] Tokens = ["seed", "index", "prompt", "negative", "steps", "guidance", "scheduler", "width", "height", "model", "date", "time"];

    private static readonly HashSet<string> ReservedWindowsNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    private FileNameTemplate(string template) => Template = template;

    public string Template { get; }

    /// <summary>Parses and checks a template: unknown tokens and path separators are refused.</summary>
    /// <exception cref="ArgumentException">The template is empty, has an unknown token, or holds a path separator.</exception>
    public static FileNameTemplate Parse(string template)
    {
        if (string.IsNullOrWhiteSpace(template))
            throw new ArgumentException("The name template is empty. Example: '{index:0000}-{seed}-{prompt}'.", nameof(template));
        foreach (Match m in TokenPattern().Matches(template))
        {
            string name = m.Groups["name"].Value.ToLowerInvariant();
            if (!Tokens.Contains(name))
                throw new ArgumentException(
                    $"Unknown token '{{{m.Groups["name"].Value}}}' in the name template '{template}'. Tokens: {string.Join(", ", Tokens.Select(t => "{" + t + "}"))}.", nameof(template));
            if (m.Groups["format"].Success && FormatProblem(name, m.Groups["format"].Value) is { } problem)
                throw new InvalidSettingException("NameTemplate", "InvalidNameTemplate", template, $"The format of '{m.Value}' in the name template '{template}' {problem}");
        }
        string literal = TokenPattern().Replace(template, "");
        if (literal.IndexOfAny(['/', '\\']) >= 0)
            throw new ArgumentException($"The name template '{template}' holds a path separator; it names files inside -Directory only.", nameof(template));
        return new FileNameTemplate(template);
    }

    /// <summary>The file name (with <paramref name="extension"/>) for one image; always a single safe path segment.</summary>
    public string Format(GenerationParameters parameters, DateTime timestamp, string extension = ".png")
    {
        string name = TokenPattern().Replace(Template, m => Value(m.Groups["name"].Value.ToLowerInvariant(), m.Groups["format"].Success ? m.Groups["format"].Value : null, parameters, timestamp));
        name = Sanitize(name);
        if (name.Length > MaxNameLength) name = Truncate(name, MaxNameLength).TrimEnd(' ', '.');
        if (name.Length == 0) name = "image";
        if (ReservedWindowsNames.Contains(name.Split('.')[0])) name = "_" + name;
        return name + extension;
    }

    /// <summary>The full path of an image in <paramref name="directory"/>; throws if it would leave the directory.</summary>
    public string Resolve(string directory, GenerationParameters parameters, DateTime timestamp, string extension = ".png")
    {
        string root = Path.GetFullPath(directory);
        string full = Path.GetFullPath(Path.Combine(root, Format(parameters, timestamp, extension)));
        string rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal) || Path.GetDirectoryName(full) != root.TrimEnd(Path.DirectorySeparatorChar))
            throw new InvalidOperationException($"The name template produced '{full}', which is outside '{root}'."); // unreachable after Sanitize; kept as a guard
        return full;
    }

    private static string Value(string token, string? format, GenerationParameters p, DateTime now)
    {
        var inv = CultureInfo.InvariantCulture;
        return token switch
        {
            "seed" => p.Seed.ToString(format, inv),
            "index" => p.Index.ToString(format, inv),
            "steps" => p.Steps.ToString(format, inv),
            "width" => p.Width.ToString(format, inv),
            "height" => p.Height.ToString(format, inv),
            "guidance" => p.GuidanceScale.ToString(format ?? "0.##", inv),
            "prompt" => Shorten(p.Prompt, format),
            "negative" => Shorten(p.NegativePrompt ?? "", format),
            "scheduler" => p.Scheduler ?? "",
            "model" => p.Model ?? "",
            "date" => now.ToString(format ?? "yyyyMMdd", inv),
            "time" => now.ToString(format ?? "HHmmss", inv),
            _ => "",
        };
    }

    /// <summary>
    /// Why <paramref name="format"/> cannot format <paramref name="token"/> (with the fix), or null: checked when the template
    /// is parsed, by formatting a sample value, so that a bad format ('{date:%%%}') fails before any image, not at the first save.
    /// </summary>
    private static string? FormatProblem(string token, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        try
        {
            switch (token)
            {
                case "seed" or "index" or "steps" or "width" or "height":
                    _ = 1234L.ToString(format, inv);
                    return null;
                case "guidance":
                    _ = 7.5f.ToString(format, inv);
                    return null;
                case "date" or "time":
                    _ = new DateTime(2024, 12, 31, 23, 59, 58).ToString(format, inv);
                    return null;
                case "prompt" or "negative":
                    return int.TryParse(format, NumberStyles.None, inv, out int n) && n is >= 1 and <= MaxNameLength ? null
                        : $"must be a length in characters from 1 to {MaxNameLength} ({{{token}:40}}); it is '{format}'.";
                default:
                    return $"takes no format; write {{{token}}}.";
            }
        }
        catch (FormatException)
        {
            string example = token is "date" or "time" ? (token == "date" ? "yyyy-MM-dd" : "HHmmss") : token == "guidance" ? "0.0" : "0000";
            return $"is not a valid .NET {(token is "date" or "time" ? "date and time" : "number")} format ('{format}'); use e.g. {{{token}:{example}}}.";
        }
    }

    /// <summary>Collapses a prompt into a short slug: words joined by '-', at most N characters (the token's format).</summary>
    private static string Shorten(string text, string? format)
    {
        int max = format is not null && int.TryParse(format, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultPromptLength;
        var sb = new StringBuilder();
        bool dash = false;
        foreach (var rune in Sanitize(text).EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune)) { if (dash && sb.Length > 0) sb.Append('-'); dash = false; sb.Append(rune.ToString()); }
            else dash = true;
        }
        return Truncate(sb.ToString(), max).TrimEnd('-');
    }

    /// <summary>
    /// Replaces what no file system takes in a name (control characters, &lt;&gt;:"/\|?*), leading dots (no '..', no hidden
    /// files), trailing dots and spaces (Windows drops them), and lone surrogates.
    /// </summary>
    public static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var rune in name.EnumerateRunes())
        {
            int v = rune.Value;
            bool bad = v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) || rune == Rune.ReplacementChar
                || "<>:\"/\\|?*".Contains((char)Math.Min(v, 0xFFFF));
            sb.Append(bad ? "_" : rune.ToString());
        }
        string result = sb.ToString().Trim();
        result = result.TrimStart('.').TrimEnd('.', ' ');
        return result;
    }

    /// <summary>Cuts at a text-element boundary so no surrogate pair or combining sequence is split.</summary>
    private static string Truncate(string text, int max)
    {
        if (text.Length <= max) return text;
        var e = StringInfo.GetTextElementEnumerator(text);
        int end = 0;
        while (e.MoveNext() && e.ElementIndex + ((string)e.Current).Length <= max) end = e.ElementIndex + ((string)e.Current).Length;
        return text[..end];
    }

    [GeneratedRegex(@"\{(?<name>[A-Za-z]+)(?::(?<format>[^{}]*))?\}")]
    private static partial Regex TokenPattern();
}
