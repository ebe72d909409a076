using System.Collections.Specialized;
using StableDiffusion.Pipeline;
using StableDiffusion.Schedulers;

namespace StableDiffusion.Jobs;

/// <summary>
/// Reads a job's prompt file. A .csv file has a header row naming its columns — Prompt, and any of NegativePrompt,
/// Seeds (or Seed), ImagesPerPrompt, Steps, GuidanceScale, GuidanceRescale, Eta, Width, Height, Scheduler, InitImage,
/// Mask, Strength, MaskCropPadding — and each row overrides the job's defaults where its cell is not empty (image paths
/// start at the job file's folder). Any other file holds one prompt per line; blank lines
/// and lines starting with '#' are skipped. Problems name the file, the line and the column.
/// </summary>
internal static class PromptFileReader
{
    public static void Read(string path, string location, JobProblems problems, SchedulerConfig? config, SourceImageCache images, List<PromptEntry> entries)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            problems.Add(location, $"The prompt file '{path}' does not exist.");
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problems.Add(location, $"The prompt file '{path}' cannot be read: {e.Message}");
            return;
        }
        string name = Path.GetFileName(path);
        int before = entries.Count, problemsBefore = problems.Count;
        if (Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase))
            ReadCsv(text, name, problems, config, images, entries);
        else
            ReadLines(text, name, entries);
        if (entries.Count == before && problems.Count == problemsBefore)
            problems.Add(location, $"The prompt file '{path}' holds no prompts.");
    }

    private static void ReadLines(string text, string name, List<PromptEntry> entries)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string prompt = lines[i].Trim();
            if (prompt.Length == 0 || prompt.StartsWith('#')) continue;
            entries.Add(new PromptEntry($"{name} line {i + 1}", prompt, new PromptSettings(), InPromptFile: true));
        }
    }

    private static void ReadCsv(string text, string name, JobProblems problems, SchedulerConfig? config, SourceImageCache images, List<PromptEntry> entries)
    {
        List<(int Line, string[] Fields)> records;
        try
        {
            records = CsvRecords.Parse(text);
        }
        catch (FormatException e)
        {
            problems.AddElsewhere(name, e.Message);
            return;
        }
        if (records.Count == 0) return;

        // Header: each column names a prompt key (any spelling of it); unknown columns are reported once, here.
        var (headerLine, header) = records[0];
        var columns = new string?[header.Length];
        for (int c = 0; c < header.Length; c++)
        {
            string title = header[c].Trim();
            string? key = JobKeys.Canonical(title, JobKeys.PromptLevel);
            string where = $"{name} line {headerLine}, column '{title}'";
            if (key is null)
            {
                string? closest = JobKeys.Closest(title, JobKeys.PromptLevel);
                problems.AddElsewhere(where, closest is not null
                    ? $"Unknown column '{title}'. Did you mean '{closest}'?"
                    : $"Unknown column '{title}'. The columns may be: {string.Join(", ", JobKeys.PromptLevel)}.");
            }
            else if (columns.Contains(key))
                problems.AddElsewhere(where, $"Two columns set {key}; keep one.");
            else
                columns[c] = key;
        }
        if (!columns.Contains(JobKeys.Prompt))
        {
            problems.AddElsewhere($"{name} line {headerLine}", $"The header has no Prompt column; its first row must name the columns, e.g. Prompt,NegativePrompt,Seeds,Steps.");
            return;
        }

        foreach (var (line, fields) in records.Skip(1))
        {
            if (fields.Length != header.Length)
            {
                problems.AddElsewhere($"{name} line {line}", $"The row has {fields.Length} fields but the header has {header.Length}; quote cells that hold commas (\"blurry, dark\").");
                continue;
            }
            var row = new OrderedDictionary(StringComparer.Ordinal);
            for (int c = 0; c < fields.Length; c++)
                if (columns[c] is { } key) row[header[c].Trim()] = fields[c].Trim();
            var table = new JobTable(row, $"{name} line {line}", JobKeys.PromptLevel, problems, locate: column => $"{name} line {line}, column '{column}'");
            string? prompt = table.String(JobKeys.Prompt);
            if (string.IsNullOrWhiteSpace(prompt))
            {
                table.Add(table.Where(JobKeys.Prompt), "The Prompt cell is empty; write the prompt or remove the row.");
                continue;
            }
            var settings = JobValidator.ReadSettings(table, config, images);
            entries.Add(new PromptEntry($"{name} line {line}", prompt, settings, InPromptFile: true));
        }
    }
}
