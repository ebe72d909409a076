namespace StableDiffusion.Files;

/// <summary>What caused a file-system failure, as far as the exception tells.</summary>
public enum IoFailureKind
{
    /// <summary>Some other input/output failure.</summary>
    Other,
    /// <summary>The disk (or the user's quota) is full.</summary>
    DiskFull,
    /// <summary>Access is denied: permissions, or a read-only file system.</summary>
    AccessDenied,
    /// <summary>A file or folder does not exist.</summary>
    NotFound,
}

/// <summary>
/// Classifies IO exceptions by their cause. .NET raises a plain <see cref="IOException"/> for a full disk and for a
/// read-only file system; only its HResult tells them apart: on Windows the Win32 error in an HRESULT, on Unix the
/// raw errno (.NET's Unix layer puts it there unchanged).
/// </summary>
public static class IoFailure
{
    private const int Win32Facility = unchecked((int)0x80070000);
    private const int ErrorHandleDiskFull = 0x27, ErrorDiskFull = 0x70, ErrorWriteProtect = 0x13;
    // errno values, the same on Linux and macOS except EDQUOT (122 on Linux, 69 on macOS).
    private const int Enospc = 28, Erofs = 30, EdquotLinux = 122, EdquotMac = 69;

    public static IoFailureKind Classify(Exception e)
    {
        switch (e)
        {
            case UnauthorizedAccessException:
                return IoFailureKind.AccessDenied;
            case FileNotFoundException or DirectoryNotFoundException:
                return IoFailureKind.NotFound;
            case IOException io:
                int h = io.HResult;
                if (OperatingSystem.IsWindows())
                {
                    if ((h & unchecked((int)0xFFFF0000)) != Win32Facility) return IoFailureKind.Other;
                    int code = h & 0xFFFF;
                    return code is ErrorDiskFull or ErrorHandleDiskFull ? IoFailureKind.DiskFull
                        : code == ErrorWriteProtect ? IoFailureKind.AccessDenied : IoFailureKind.Other;
                }
                return h is Enospc or EdquotLinux || (OperatingSystem.IsMacOS() && h == EdquotMac) ? IoFailureKind.DiskFull
                    : h == Erofs ? IoFailureKind.AccessDenied : IoFailureKind.Other;
            default:
                return e.InnerException is { } inner ? Classify(inner) : IoFailureKind.Other;
        }
    }
}
