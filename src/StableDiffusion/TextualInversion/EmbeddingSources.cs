namespace StableDiffusion.TextualInversion;

/// <summary>
/// The embedding files that paths name (New-SdPipeline -EmbeddingPath, render settings): a file is loaded with its own
/// token (the diffusers tensor name, else its base name); a folder's <c>*.safetensors</c> files (not its subfolders, in
/// name order) are loaded with their base names as tokens, A1111's embeddings-folder convention.
/// </summary>
public static class EmbeddingSources
{
    /// <exception cref="TextualInversionException">A path does not exist, or a folder holds no .safetensors file.</exception>
    public static IReadOnlyList<(string Path, string? Token)> Expand(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var files = new List<(string, string?)>();
        foreach (string path in paths)
        {
            string full = Path.GetFullPath(path);
            if (File.Exists(full))
            {
                files.Add((full, null));
                continue;
            }
            if (!Directory.Exists(full))
                throw new TextualInversionException("EmbeddingPathNotFound", TextualInversionProblem.FileNotFound, path,
                    $"The embedding path '{full}' does not exist. Give a textual-inversion .safetensors file or a folder of them.");
            var found = Directory.GetFiles(full, "*.safetensors", SearchOption.TopDirectoryOnly).Order(StringComparer.Ordinal).ToArray();
            if (found.Length == 0)
                throw new TextualInversionException("EmbeddingFolderEmpty", TextualInversionProblem.FileNotFound, path,
                    $"The embedding folder '{full}' holds no .safetensors file (subfolders are not searched; .pt/.bin embeddings are " +
                    "pickles, which are not loaded: convert them to .safetensors).");
            files.AddRange(found.Select(f => (f, (string?)Path.GetFileNameWithoutExtension(f))));
        }
        return files;
    }
}
