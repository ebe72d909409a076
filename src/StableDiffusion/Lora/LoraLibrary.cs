namespace StableDiffusion.Lora;

/// <summary>
/// The folders LoRAs are looked up in by name (New-SdPipeline -LoraPath), as A1111 resolves <c>&lt;lora:name:w&gt;</c>:
/// <c>name.safetensors</c> in the first folder that has it. The prompt stage calls <see cref="Resolve"/>.
/// </summary>
public sealed class LoraLibrary
{
    public static readonly LoraLibrary Empty = new([]);

    /// <param name="folders">The folders, searched in order; each must exist.</param>
    /// <exception cref="DirectoryNotFoundException">A folder does not exist.</exception>
    public LoraLibrary(IReadOnlyList<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var full = new List<string>(folders.Count);
        foreach (var folder in folders)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(folder, nameof(folders));
            var path = System.IO.Path.GetFullPath(folder);
            if (!Directory.Exists(path))
                throw new DirectoryNotFoundException($"The LoRA folder '{path}' does not exist; -LoraPath takes folders that hold name.safetensors files.");
            full.Add(path);
        }
        Folders = full;
    }

    public IReadOnlyList<string> Folders { get; }

    /// <summary>The file of the LoRA called <paramref name="name"/> (without extension, as in <c>&lt;lora:name:w&gt;</c>).</summary>
    /// <exception cref="ArgumentException">The name is empty or holds a path separator or invalid character.</exception>
    /// <exception cref="FileNotFoundException">No folder has <c>name.safetensors</c>; the message lists the folders searched.</exception>
    public string Resolve(string name) => TryResolve(name) ?? throw new FileNotFoundException(
        Folders.Count == 0
            ? $"No LoRA folder is set, so the LoRA '{name}' cannot be found; give New-SdPipeline -LoraPath the folder(s) holding '{name}.safetensors'."
            : $"No LoRA '{name}.safetensors' is in {string.Join(", ", Folders.Select(f => $"'{f}'"))}; check the name or add its folder to -LoraPath.",
        name + ".safetensors");

    /// <summary><see cref="Resolve"/>, or null when no folder has the file.</summary>
    public string? TryResolve(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.IndexOfAny(System.IO.Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/') || name.Contains('\\') || name is "." or "..")
            throw new ArgumentException($"The LoRA name '{name}' must be a file name without folder or extension (e.g. 'style' for style.safetensors).", nameof(name));
        foreach (var folder in Folders)
        {
            var path = System.IO.Path.Combine(folder, name + ".safetensors");
            if (File.Exists(path)) return path;
        }
        return null;
    }
}
