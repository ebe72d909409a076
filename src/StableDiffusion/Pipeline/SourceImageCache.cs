using System.Runtime.ExceptionServices;
using StableDiffusion.Imaging;

namespace StableDiffusion.Pipeline;

/// <summary>
/// Init images and masks of one Invoke-SdGeneration call or one render job, each file decoded once by its full path
/// (a CSV naming one init image on every row reads it once); a file that cannot be read fails the same way every time
/// it is asked for, without being read again.
/// </summary>
public sealed class SourceImageCache
{
    private readonly Dictionary<string, (SourceImage? Image, ExceptionDispatchInfo? Error)> _files =
        new(OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);

    /// <summary>How many files were decoded (for tests and verbose output).</summary>
    public int FilesRead { get; private set; }

    /// <summary>The image at <paramref name="fullPath"/>, decoded on first use.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an image that can be read (or is a decompression bomb).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public SourceImage Load(string fullPath)
    {
        if (!_files.TryGetValue(fullPath, out var entry))
        {
            FilesRead++;
            try
            {
                entry = (SourceImageReader.Load(fullPath), null);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                entry = (null, ExceptionDispatchInfo.Capture(e));
            }
            _files[fullPath] = entry;
        }
        entry.Error?.Throw();
        return entry.Image!;
    }
}
