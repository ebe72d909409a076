namespace StableDiffusion.Imaging;

/// <summary>
/// Writes a file so that readers never see a partial one: the content goes to a temporary file in the destination
/// folder (same volume, so the final rename is atomic), is flushed to disk, and is then moved over the target.
/// On any failure the temporary file is deleted and the target is left as it was.
/// </summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>.</summary>
    /// <exception cref="IOException"><paramref name="overwrite"/> is false and <paramref name="path"/> exists.</exception>
    /// <exception cref="DirectoryNotFoundException">The destination folder does not exist.</exception>
    public static void Write(string path, bool overwrite, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);

        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)
            ?? throw new ArgumentException($"'{path}' does not name a file.", nameof(path));
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Cannot write '{fullPath}': the folder '{directory}' does not exist.");
        // Fail before doing any work; the move below checks again in case the file appears meanwhile.
        if (!overwrite && File.Exists(fullPath))
            throw ExistsError(fullPath);

        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            try
            {
                File.Move(temporary, fullPath, overwrite);
            }
            catch (IOException) when (!overwrite && File.Exists(fullPath))
            {
                throw ExistsError(fullPath);
            }
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static IOException ExistsError(string fullPath) =>
        new($"The file '{fullPath}' already exists; choose another name or allow overwriting.");

    private static void TryDelete(string temporary)
    {
        try
        {
            File.Delete(temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure matters more than a leftover temporary file.
        }
    }
}
