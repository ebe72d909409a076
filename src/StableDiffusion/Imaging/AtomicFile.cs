using System.Text.RegularExpressions;

namespace StableDiffusion.Imaging;

/// <summary>
/// Writes a file so that readers never see a partial one: the content goes to a temporary file in the destination
/// folder (same volume, so the final rename is atomic), is flushed to disk, and is then moved over the target.
/// On any failure the temporary file is deleted and the target is left as it was.
/// </summary>
internal static partial class AtomicFile
{
    /// <summary>
    /// How old a leftover temporary file must be before a writer without a folder lock removes it: a concurrent writer
    /// finishes one image in far less, so only files abandoned by a killed process are this old.
    /// </summary>
    public static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromMinutes(10);

    /// <summary>Whether <paramref name="fileName"/> is one of our temporary names (".name.&lt;32 hex&gt;.tmp"), nobody else's.</summary>
    public static bool IsTemporaryName(string fileName) => TemporaryName().IsMatch(fileName);

    [GeneratedRegex(@"^\..+\.[0-9a-f]{32}\.tmp$", RegexOptions.IgnoreCase)]
    private static partial Regex TemporaryName();

    /// <summary>
    /// Removes the temporary files our writes left in <paramref name="directory"/> when a process was killed mid-write
    /// (only our own naming, and only those older than <paramref name="olderThan"/>, so a concurrent writer's file is
    /// left alone). Returns what was removed and what could not be; never throws for a file it cannot remove.
    /// </summary>
    public static (IReadOnlyList<string> Removed, IReadOnlyList<(string File, string Error)> Failed) RemoveLeftovers(string directory, TimeSpan olderThan)
    {
        var removed = new List<string>();
        var failed = new List<(string, string)>();
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, ".*.tmp").Where(f => IsTemporaryName(Path.GetFileName(f))).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (removed, failed); // an unlistable folder fails the write itself, with a clearer message
        }
        var now = DateTime.UtcNow;
        foreach (var file in candidates)
        {
            try
            {
                if (now - File.GetLastWriteTimeUtc(file) < olderThan) continue;
                File.Delete(file);
                removed.Add(file);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failed.Add((file, e.Message));
            }
        }
        return (removed, failed);
    }

    /// <summary>When each folder was last swept: listing a folder of thousands of images before every write would cost more than the write.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTime> LastSwept = new(StringComparer.Ordinal);

    /// <summary>Removes what a write killed earlier (kill -9) left in the folder; at most once per <see cref="StaleTemporaryAge"/> per folder.</summary>
    private static void SweepOccasionally(string directory)
    {
        var now = DateTime.UtcNow;
        if (LastSwept.TryGetValue(directory, out var last) && now - last < StaleTemporaryAge) return;
        LastSwept[directory] = now;
        RemoveLeftovers(directory, StaleTemporaryAge);
    }

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
        if (Directory.Exists(fullPath))
            throw new IOException($"'{fullPath}' is a folder, not a file; give a file name inside it.");
        if (!overwrite && File.Exists(fullPath))
            throw ExistsError(fullPath);
        SweepOccasionally(directory);

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
