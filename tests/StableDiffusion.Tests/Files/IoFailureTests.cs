using StableDiffusion.Files;

namespace StableDiffusion.Tests.Files;

/// <summary>IO failures classified by cause from the HResult .NET gives them (a full disk cannot be made in a test).</summary>
public sealed class IoFailureTests
{
    // The values .NET puts in IOException.HResult: the raw errno on Unix (ENOSPC 28, EROFS 30, EDQUOT 122 on Linux),
    // HRESULT_FROM_WIN32 on Windows (ERROR_DISK_FULL 112, ERROR_HANDLE_DISK_FULL 39, ERROR_WRITE_PROTECT 19).
    private static int DiskFull => OperatingSystem.IsWindows() ? unchecked((int)0x80070070) : 28;
    private static int ReadOnlyFileSystem => OperatingSystem.IsWindows() ? unchecked((int)0x80070013) : 30;

    [Fact]
    public void ADiskFullIOExceptionIsDiskFull() =>
        Assert.Equal(IoFailureKind.DiskFull, IoFailure.Classify(new IOException("No space left on device", DiskFull)));

    [Fact]
    public void AQuotaOrHandleDiskFullIsDiskFullToo() =>
        Assert.Equal(IoFailureKind.DiskFull, IoFailure.Classify(new IOException("quota", OperatingSystem.IsWindows() ? unchecked((int)0x80070027) : 122)));

    [Fact]
    public void AReadOnlyFileSystemIsAccessDenied() =>
        Assert.Equal(IoFailureKind.AccessDenied, IoFailure.Classify(new IOException("Read-only file system", ReadOnlyFileSystem)));

    [Fact]
    public void PermissionsAndMissingFilesAreNamed()
    {
        Assert.Equal(IoFailureKind.AccessDenied, IoFailure.Classify(new UnauthorizedAccessException("denied")));
        Assert.Equal(IoFailureKind.NotFound, IoFailure.Classify(new FileNotFoundException("gone")));
    }

    [Fact]
    public void AnotherIOExceptionIsOtherAndAWrappedOneIsSeenThrough()
    {
        Assert.Equal(IoFailureKind.Other, IoFailure.Classify(new IOException("sharing violation", 11)));
        Assert.Equal(IoFailureKind.DiskFull, IoFailure.Classify(new InvalidOperationException("wrapped", new IOException("full", DiskFull))));
    }

    [Fact]
    public void ARealWriteIntoAnUnwritableFolderIsAccessDenied()
    {
        using var scratch = new FileScratch();
        var e = Record.Exception(() => Directory.CreateDirectory(scratch.UnwritableChild()));
        Assert.NotNull(e);
        Assert.Equal(IoFailureKind.AccessDenied, IoFailure.Classify(e));
    }
}
