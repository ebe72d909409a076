using System.Collections;
using System.Security.Cryptography;
using StableDiffusion.Lora;
using StableDiffusion.Models;
using StableDiffusion.TextualInversion;
using StableDiffusion.Weights;

namespace StableDiffusion.Jobs;

/// <summary>
/// Reads a job's Loras, LoraPath and EmbeddingPath keys: paths resolved against the job file's folder, LoRA files read
/// (pickles, broken files, non-finite weights and another family's LoRA are problems at their key), folders checked,
/// and every file hashed for the render identity. Whether a LoRA's keys fit the model is known only once it loads.
/// </summary>
internal static class JobAdapterReader
{
    private static readonly string[] LoraKeys = ["Path", "Weight", "TextEncoderWeight"];

    public static IReadOnlyList<JobLora> ReadLoras(JobTable top, ModelFolder? model)
    {
        if (!top.Has(JobKeys.Loras) || top.Raw(JobKeys.Loras) is null) return [];
        string where = top.Where(JobKeys.Loras);
        IList list = top.Raw(JobKeys.Loras) switch
        {
            IList l => l,
            var single and (string or IDictionary) => new[] { single },
            var other => Fail(top, where, $"Loras must be a list of LoRA files ('style.safetensors' or @{{ Path = 'style.safetensors'; Weight = 0.8 }}); it is {JobTable.Describe(other)}."),
        };
        var loras = new List<JobLora>();
        for (int i = 0; i < list.Count; i++)
        {
            string at = top.Raw(JobKeys.Loras) is IList ? $"{where}[{i}]" : where;
            string? path;
            double weight = 1, teWeight;
            double? te = null;
            switch (list[i])
            {
                case string s:
                    path = s;
                    break;
                case IDictionary d:
                    var t = new JobTable(d, at, LoraKeys, top.Problems);
                    path = t.String("Path", required: true, ": the LoRA's .safetensors file");
                    weight = t.Number("Weight", _ => null) ?? 1;
                    te = t.Number("TextEncoderWeight", _ => null);
                    break;
                default:
                    top.Add(at, $"A LoRA must be a path or a table with Path, Weight and TextEncoderWeight; it is {JobTable.Describe(list[i])}.");
                    continue;
            }
            if (string.IsNullOrWhiteSpace(path)) { if (path is not null) top.Add(at, "The LoRA path is empty; give its .safetensors file."); continue; }
            teWeight = te ?? weight;
            string full = JobValidator.Resolve(top.Problems.Document, path.Trim());
            try
            {
                var entry = LoraEntry.Load(full, (float)weight, (float)teWeight);
                if (model is not null && WrongFamily(entry.File.Family, model.Family) is { } why)
                    top.Add(at, $"The LoRA '{full}' {why}; the model '{model.Name}' is {model.Family}. Use a LoRA trained for this model's family.");
                else if (loras.Any(l => string.Equals(l.Name, entry.Name, StringComparison.OrdinalIgnoreCase)))
                    top.Add(at, $"The LoRA '{entry.Name}' is listed twice; give it once (with the weight you want).");
                else
                    loras.Add(new JobLora(entry, Sha256Of(full)));
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                top.Add(at, $"The LoRA file '{full}' does not exist (a relative path starts at the job file's folder, '{top.Problems.Document.BaseDirectory}').");
            }
            catch (Exception e) when (e is FormatException or UnsupportedWeightsFormatException or ArgumentException or IOException or UnauthorizedAccessException)
            {
                top.Add(at, $"The LoRA file '{full}' cannot be used: {JobProblems.Clean(e)}");
            }
        }
        return loras;
    }

    /// <summary>The LoraPath folders (for A1111 &lt;lora:name&gt; tags), each resolved and required to exist.</summary>
    public static IReadOnlyList<string> ReadLoraFolders(JobTable top) =>
        ReadPaths(top, JobKeys.LoraPath, "LoraPath", (full, at) =>
        {
            if (Directory.Exists(full)) return true;
            top.Add(at, File.Exists(full)
                ? $"LoraPath '{full}' is a file; LoraPath takes folders that hold name.safetensors files (list single LoRAs under Loras)."
                : $"The LoRA folder '{full}' does not exist (a relative path starts at the job file's folder, '{top.Problems.Document.BaseDirectory}').");
            return false;
        });

    /// <summary>The EmbeddingPath files and folders, expanded as New-SdPipeline -EmbeddingPath does, each file hashed.</summary>
    public static IReadOnlyList<JobEmbedding> ReadEmbeddings(JobTable top)
    {
        var embeddings = new List<JobEmbedding>();
        ReadPaths(top, JobKeys.EmbeddingPath, "EmbeddingPath", (full, at) =>
        {
            try
            {
                foreach (var (file, token) in EmbeddingSources.Expand([full]))
                {
                    if (file.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase))
                    {
                        top.Add(at, $"The embedding '{file}' is a pickle file, which is not loaded (it can run code): convert it to .safetensors.");
                        continue;
                    }
                    embeddings.Add(new JobEmbedding(file, token, Sha256Of(file)));
                }
            }
            catch (TextualInversionException e) { top.Add(at, e.Message); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { top.Add(at, $"The embedding path '{full}' cannot be read: {e.Message}"); }
            return true;
        });
        return embeddings;
    }

    /// <summary>A path or a list of paths under <paramref name="key"/>, resolved; <paramref name="accept"/> checks each (and reports).</summary>
    private static IReadOnlyList<string> ReadPaths(JobTable top, string key, string what, Func<string, string, bool> accept)
    {
        if (!top.Has(key) || top.Raw(key) is null) return [];
        string where = top.Where(key);
        IList list = top.Raw(key) switch
        {
            IList l => l,
            string s => new[] { s },
            var other => Fail(top, where, $"{what} must be a path or a list of paths; it is {JobTable.Describe(other)}."),
        };
        var paths = new List<string>();
        for (int i = 0; i < list.Count; i++)
        {
            string at = top.Raw(key) is IList ? $"{where}[{i}]" : where;
            if (list[i] is not string { } p || p.Trim().Length == 0)
            {
                top.Add(at, $"Each {what} entry must be a non-empty path; it is {JobTable.Describe(list[i])}.");
                continue;
            }
            string full = JobValidator.Resolve(top.Problems.Document, p.Trim());
            if (accept(full, at)) paths.Add(full);
        }
        return paths;
    }

    private static string? WrongFamily(LoraFamily lora, ModelFamily model) => (lora, model) switch
    {
        (LoraFamily.Sdxl, not ModelFamily.StableDiffusionXL) => "is an SDXL LoRA (two text encoders)",
        (LoraFamily.SingleTextEncoder, ModelFamily.StableDiffusionXL) => "is an SD 1.x/2.x LoRA (one text encoder)",
        _ => null,
    };

    private static IList Fail(JobTable top, string where, string message)
    {
        top.Add(where, message);
        return Array.Empty<object>();
    }

    /// <summary>The file's SHA-256 (lower-case hex): its bytes, not its name or date, say whether it is still the same LoRA.</summary>
    internal static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
    }
}
