using StableDiffusion.Tests.Support;

namespace StableDiffusion.Tests.Files;

/// <summary>A temporary folder with helpers to copy the tiny-sd fixture (without its expected outputs) and corrupt it.</summary>
public sealed class FileScratch : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("sd-files-tests-").FullName;

    public string PathIn(params string[] parts) => Path.Combine([Folder, .. parts]);

    /// <summary>A copy of tiny-sd under <paramref name="name"/>, to corrupt.</summary>
    public string CopyTinySd(string name = "model")
    {
        string target = PathIn(name);
        foreach (var file in Directory.EnumerateFiles(Fixtures.TinySd, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(Fixtures.TinySd, file);
            if (relative.StartsWith("expected", StringComparison.Ordinal)) continue;
            string to = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    /// <summary>
    /// A folder path whose parent cannot be written: a chmod 555 folder, or under /sys for root (whom chmod does not stop).
    /// </summary>
    public string UnwritableChild()
    {
        if (Environment.UserName == "root" || Environment.GetEnvironmentVariable("USER") == "root")
            return Path.Combine("/sys", $"sd-files-test-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("no unwritable folder is made on Windows here");
        string locked = PathIn("locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        return Path.Combine(locked, "out");
    }

    public void Dispose()
    {
        string locked = PathIn("locked");
        if (!OperatingSystem.IsWindows() && Directory.Exists(locked)) File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
