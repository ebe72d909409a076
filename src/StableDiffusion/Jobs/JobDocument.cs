using System.Collections;
using System.Collections.Specialized;
using System.Text;
using System.Text.Json;

namespace StableDiffusion.Jobs;

/// <summary>
/// A job file read into a plain tree — <see cref="IDictionary"/> for tables, <see cref="IList"/> for arrays, and
/// strings, numbers, booleans and nulls — with the line of each key where known. JSON is read here; the PowerShell
/// layer reads .psd1 files (safely, as data) into the same shape. Keys keep the spelling of the file.
/// </summary>
public sealed class JobDocument
{
    private readonly IReadOnlyDictionary<string, int> _lines;

    /// <param name="root">The top-level table.</param>
    /// <param name="source">The job file's path (for messages and the log).</param>
    /// <param name="baseDirectory">Folder that relative paths in the job resolve against (the job file's folder).</param>
    /// <param name="lines">Line of each key path (as <see cref="NormalizePath"/> gives it), where known.</param>
    public JobDocument(IDictionary root, string source, string baseDirectory, IReadOnlyDictionary<string, int>? lines = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        Root = root;
        Source = source;
        BaseDirectory = baseDirectory;
        _lines = lines ?? new Dictionary<string, int>();
    }

    public IDictionary Root { get; }
    public string Source { get; }
    public string BaseDirectory { get; }

    /// <summary>The line of the key at <paramref name="path"/>, or of the closest enclosing key that has one.</summary>
    public int? LineOf(string path)
    {
        string normalized = NormalizePath(path);
        while (true)
        {
            if (_lines.TryGetValue(normalized, out int line)) return line;
            int cut = Math.Max(normalized.LastIndexOf('.'), normalized.LastIndexOf('['));
            if (cut <= 0) return null;
            normalized = normalized[..cut];
        }
    }

    /// <summary>Key names compare without case, spaces, '_' and '-': "negative_prompt" is "NegativePrompt".</summary>
    public static string NormalizeKey(string key) =>
        new(key.Where(c => !char.IsWhiteSpace(c) && c != '_' && c != '-').Select(char.ToLowerInvariant).ToArray());

    /// <summary>A key path with each key normalized (indexes kept): "Prompts[2].Negative_Prompt" → "prompts[2].negativeprompt".</summary>
    public static string NormalizePath(string path)
    {
        var sb = new StringBuilder(path.Length);
        foreach (var part in path.Split('.'))
        {
            if (sb.Length > 0) sb.Append('.');
            int bracket = part.IndexOf('[');
            sb.Append(bracket < 0 ? NormalizeKey(part) : NormalizeKey(part[..bracket]) + part[bracket..]);
        }
        return sb.ToString();
    }

    /// <summary>Reads a .json job file.</summary>
    /// <exception cref="JobValidationException">The file cannot be read or is not a JSON object.</exception>
    public static JobDocument LoadJson(string path)
    {
        string full = Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobValidationException(full, [new JobProblem(Path.GetFileName(full), $"The job file cannot be read: {e.Message}")]);
        }
        return ParseJson(bytes, full, Path.GetDirectoryName(full)!);
    }

    /// <summary>Parses JSON text (comments and trailing commas allowed) into a job document.</summary>
    /// <exception cref="JobValidationException">The text is not valid JSON or its top level is not an object.</exception>
    public static JobDocument ParseJson(ReadOnlySpan<byte> utf8, string source, string baseDirectory)
    {
        if (utf8.StartsWith("\uFEFF"u8)) utf8 = utf8[3..];
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < utf8.Length; i++)
            if (utf8[i] == (byte)'\n') lineStarts.Add(i + 1);
        var lines = new Dictionary<string, int>(StringComparer.Ordinal);
        var problems = new List<JobProblem>();
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        object? root;
        try
        {
            if (!reader.Read())
                throw new JobValidationException(source, [new JobProblem(Path.GetFileName(source), "The job file is empty; it must hold one JSON object.")]);
            root = ReadValue(ref reader, "", lines, lineStarts, problems);
            if (reader.Read())
                problems.Add(new JobProblem(Path.GetFileName(source), "There is more after the job's JSON object; a job file holds exactly one object.", LineAt(lineStarts, (int)reader.TokenStartIndex)));
        }
        catch (JsonException e)
        {
            throw new JobValidationException(source,
                [new JobProblem(Path.GetFileName(source), $"The job file is not valid JSON: {e.Message}", (int?)e.LineNumber + 1)]);
        }
        if (root is not IDictionary table)
            problems.Add(new JobProblem(Path.GetFileName(source), "The top level of a job file must be an object ({ \"Model\": …, \"Prompts\": […] })."));
        if (problems.Count > 0) throw new JobValidationException(source, problems);
        return new JobDocument((IDictionary)root!, source, baseDirectory, lines);
    }

    private static object? ReadValue(ref Utf8JsonReader reader, string path, Dictionary<string, int> lines, List<int> lineStarts, List<JobProblem> problems)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var table = new OrderedDictionary(StringComparer.Ordinal);
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    int line = LineAt(lineStarts, (int)reader.TokenStartIndex);
                    string key = ReadString(ref reader, path.Length == 0 ? "(a key)" : $"{path} (a key)", line, problems) ?? "";
                    string keyPath = path.Length == 0 ? key : $"{path}.{key}";
                    reader.Read();
                    object? value = ReadValue(ref reader, keyPath, lines, lineStarts, problems);
                    if (table.Contains(key))
                    {
                        problems.Add(new JobProblem(keyPath, $"'{key}' is given twice; give it once.", line));
                        continue;
                    }
                    table.Add(key, value);
                    lines.TryAdd(NormalizePath(keyPath), line);
                }
                return table;
            }
            case JsonTokenType.StartArray:
            {
                var list = new List<object?>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    string itemPath = $"{path}[{list.Count}]";
                    lines.TryAdd(NormalizePath(itemPath), LineAt(lineStarts, (int)reader.TokenStartIndex));
                    list.Add(ReadValue(ref reader, itemPath, lines, lineStarts, problems));
                }
                return list;
            }
            case JsonTokenType.String:
                return ReadString(ref reader, path, LineAt(lineStarts, (int)reader.TokenStartIndex), problems);
            case JsonTokenType.Number:
                return reader.TryGetInt64(out long l) ? l : reader.GetDouble();
            case JsonTokenType.True:
                return true;
            case JsonTokenType.False:
                return false;
            default:
                return null;
        }
    }

    /// <summary>
    /// A JSON string, or null after a problem when it cannot be text: an escaped lone surrogate ("\ud800") is valid JSON but
    /// no string a PNG can record (nor one .NET can decode strictly), so it is the job's problem at its line, not a crash.
    /// Escaped NULs decode, and are refused with the prompts' other text rules (<see cref="Imaging.SavableText"/>).
    /// </summary>
    private static string? ReadString(ref Utf8JsonReader reader, string path, int line, List<JobProblem> problems)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            problems.Add(new JobProblem(path.Length == 0 ? "(top level)" : path,
                "The text holds an escaped unpaired surrogate (such as \\ud800 without its \\udc00…\\udfff half), which is not valid Unicode " +
                "and cannot be saved in an image's PNG: give the whole character (both halves, or the character itself) or remove it.", line));
            return null;
        }
    }

    private static int LineAt(List<int> lineStarts, int offset)
    {
        int index = lineStarts.BinarySearch(offset);
        return (index >= 0 ? index : ~index - 1) + 1;
    }
}
