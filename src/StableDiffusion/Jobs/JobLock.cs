using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace StableDiffusion.Jobs;

/// <summary>Timing of <see cref="JobLock"/>.</summary>
public sealed record JobLockOptions
{
    /// <summary>A lock whose holder has shown no sign of life for this long is stale, whoever holds it.</summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How often a holder rewrites its lock to show it is alive.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// One run at a time per output directory: a lock file created exclusively (CreateNew), holding who owns it. A lock left
/// by a crashed run is stale — its process is gone from this host (or its id now belongs to a later process), or it has
/// not shown a sign of life for <see cref="JobLockOptions.StaleAfter"/> (the only test possible for another host) — and
/// is taken over: under an exclusive takeover file, and only if it still is the very lock judged stale. A live holder rewrites the lock
/// every <see cref="JobLockOptions.HeartbeatInterval"/>; a run whose lock was taken over notices and stops.
/// </summary>
public sealed class JobLock : IDisposable
{
    /// <summary>The lock file's name in the output directory.</summary>
    public const string FileName = "sd-render.lock";

    /// <summary>How long a lock file may stay unreadable (being written) before it counts as a crashed run's.</summary>
    public static readonly TimeSpan UnreadableStaleAfter = TimeSpan.FromSeconds(10);

    /// <summary>How far ahead of this host's clock a heartbeat may be dated and still be believed (clocks of hosts sharing a folder differ a little).</summary>
    public static readonly TimeSpan ClockSkewTolerance = TimeSpan.FromMinutes(5);

    private readonly object _gate = new();
    private readonly FileStream _stream;
    private readonly Timer _timer;
    private bool _disposed;

    private JobLock(string path, FileStream stream, JobLockHolder holder, TimeSpan heartbeat, JobLockHolder? replaced, string? replacedReason)
    {
        Path = path;
        _stream = stream;
        Holder = holder;
        Replaced = replaced;
        ReplacedReason = replacedReason;
        _timer = new Timer(_ => Heartbeat(), null, heartbeat, heartbeat);
    }

    public string Path { get; }
    public JobLockHolder Holder { get; private set; }

    /// <summary>The stale lock this run took over, if it did.</summary>
    public JobLockHolder? Replaced { get; }

    /// <summary>Why the replaced lock was judged stale.</summary>
    public string? ReplacedReason { get; }

    /// <summary>Takes the lock of <paramref name="directory"/> (which must exist) for <paramref name="job"/>.</summary>
    /// <exception cref="JobLockedException">A live run holds it; the message names the holder.</exception>
    public static JobLock Acquire(string directory, string job, JobLockOptions? options = null)
    {
        options ??= new JobLockOptions();
        string path = System.IO.Path.Combine(System.IO.Path.GetFullPath(directory), FileName);
        JobLockHolder? replaced = null;
        string? replacedReason = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var now = DateTime.UtcNow;
            var holder = new JobLockHolder
            {
                ProcessId = Environment.ProcessId,
                ProcessStartUtc = CurrentProcessStart.Value,
                Host = Environment.MachineName,
                User = Environment.UserName,
                Job = job,
                StartedUtc = now,
                HeartbeatUtc = now,
                Token = Guid.NewGuid().ToString("N"),
            };
            if (TryCreate(path, holder) is { } stream)
                return new JobLock(path, stream, holder, options.HeartbeatInterval, replaced, replacedReason);

            var (raw, existing) = ReadLock(path);
            if (raw is null)
            {
                // Released meanwhile: try again (a lock that can be neither created nor read is an error, not a wait).
                if (DateTime.UtcNow > deadline) throw new IOException($"The lock '{path}' can be neither created nor read.");
                continue;
            }
            string? reason = StaleReason(existing, path, options.StaleAfter);
            if (reason is null)
            {
                string who = existing?.Describe(DateTime.UtcNow) ?? "a run whose lock file cannot be read";
                throw new JobLockedException(path, existing,
                    $"The output directory '{directory}' is in use by another render job: {who}. " +
                    $"Wait for it to finish. If you are sure it is not running, delete '{path}'.");
            }
            if (TryRemoveStale(path, raw) == true)
            {
                replaced = existing;
                replacedReason = reason;
                continue;
            }
            // Another run is taking it over, or it cannot be removed: look again shortly, but not forever.
            if (DateTime.UtcNow > deadline)
                throw new JobLockedException(path, existing,
                    $"The stale lock '{path}' ({reason}) could not be taken over. If no run is using '{directory}', delete it.");
            Thread.Sleep(25);
        }
    }

    /// <summary>
    /// Creates the lock if there is none (CreateNew is the one atomic create-if-absent on every platform) and writes its
    /// record. A crash between the two leaves an empty lock, which <see cref="StaleReason"/> tells from a live one.
    /// </summary>
    private static FileStream? TryCreate(string path, JobLockHolder holder)
    {
        FileStream stream;
        try
        {
            // Held open while the run lasts: on Windows nobody can delete a live run's lock.
            stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        }
        catch (IOException e) when (e is not (DirectoryNotFoundException or PathTooLongException))
        {
            return null; // it exists (or did a moment ago): the caller looks at it
        }
        Write(stream, holder);
        return stream;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Rewrites the lock with a fresh heartbeat (the timer does this; a runner also does it between images).</summary>
    public void Heartbeat()
    {
        lock (_gate)
        {
            if (_disposed) return;
            try
            {
                Holder = Holder with { HeartbeatUtc = DateTime.UtcNow };
                Write(_stream, Holder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                // A missed heartbeat only makes the lock look older; the next one tries again.
            }
        }
    }

    /// <summary>Whether the lock file is still this run's (another run may have judged it stale and taken it).</summary>
    public bool StillOwned()
    {
        var (_, current) = ReadLock(Path);
        return current?.Token == Holder.Token;
    }

    /// <summary>Throws when the lock has been taken over.</summary>
    /// <exception cref="JobLockLostException">Another run took the lock.</exception>
    public void EnsureOwned()
    {
        if (StillOwned()) return;
        var (_, current) = ReadLock(Path);
        throw new JobLockLostException(
            $"The lock '{Path}' was taken over by {current?.Describe(DateTime.UtcNow) ?? "another run"}; this run stops so that two runs never write the same folder. " +
            $"If this happens while a run is alive (a machine that slept?), raise the stale-lock age.");
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _timer.Dispose();
        bool owned = StillOwned();
        _stream.Dispose();
        if (owned)
        {
            try { File.Delete(Path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* the next run judges it stale */ }
        }
    }

    private static void Write(FileStream stream, JobLockHolder holder)
    {
        // Overwrite in place, then trim: a reader never finds the file empty (it may catch a mix, and reads again).
        byte[] bytes = Encoding.UTF8.GetBytes(holder.ToJson() + "\n");
        stream.Position = 0;
        stream.Write(bytes);
        stream.SetLength(bytes.Length);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>The lock file's text and holder (holder null if unreadable; text null if the file is gone).</summary>
    private static (string? Raw, JobLockHolder? Holder) ReadLock(string path)
    {
        for (int attempt = 0; ; attempt++)
        {
            string raw;
            try
            {
                using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var reader = new StreamReader(s, Encoding.UTF8);
                raw = reader.ReadToEnd();
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return (null, null);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                raw = "";
            }
            var holder = JobLockHolder.TryParse(raw);
            // A holder rewriting its heartbeat may be caught mid-write: look again before calling it unreadable.
            if (holder is not null || attempt >= 3) return (raw, holder);
            Thread.Sleep(50);
        }
    }

    /// <summary>Why the lock at <paramref name="path"/> is stale, or null when its holder may be alive.</summary>
    internal static string? StaleReason(JobLockHolder? holder, string path, TimeSpan staleAfter)
    {
        var now = DateTime.UtcNow;
        if (holder is null)
        {
            // A live holder writes a complete record right after creating the file, and rewrites it whole: a record
            // that stays unreadable was cut short by a crash.
            var age = now - File.GetLastWriteTimeUtc(path);
            return age > UnreadableStaleAfter || age > staleAfter
                ? $"its lock file cannot be read and has not changed for {JobLockHolder.Ago(age)}" : null;
        }
        if (holder.IsOnThisHost && DeadProcess(holder) is { } dead) return dead;
        // A heartbeat caught half rewritten by a crash does not parse: the file's time stands in for it. So it does for a
        // heartbeat dated in the future beyond any plausible clock difference (a host whose clock was wrong, a hand-edited
        // file): taken at its word it would stay "fresh" until that date, locking the folder for good; the file's own
        // time moves with every real heartbeat, so a live holder still looks alive and a dead one ages out.
        bool untrusted = holder.HeartbeatUtc == DateTime.MinValue || holder.HeartbeatUtc > now + ClockSkewTolerance;
        var silence = now - (untrusted ? File.GetLastWriteTimeUtc(path) : holder.HeartbeatUtc);
        return silence > staleAfter
            ? $"{holder.Describe(now)}: no sign of life for more than {JobLockHolder.Ago(staleAfter)}" +
              (holder.HeartbeatUtc > now + ClockSkewTolerance ? $" (its heartbeat is dated in the future, {holder.HeartbeatUtc:u}, so the lock file's time was used)" : "")
            : null;
    }

    /// <summary>Why the holder's process is not running on this host any more, or null when it is (or cannot be told).</summary>
    private static string? DeadProcess(JobLockHolder holder)
    {
        try
        {
            using var process = Process.GetProcessById(holder.ProcessId);
            if (process.HasExited) return $"process {holder.ProcessId} on this host has exited";
            if (holder.ProcessStartUtc is { } recorded && Math.Abs((process.StartTime.ToUniversalTime() - recorded).TotalSeconds) > 2)
                return $"process {holder.ProcessId} on this host is a later process than the one that took the lock";
            return null;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return $"process {holder.ProcessId} on this host is no longer running";
        }
        catch (Exception e) when (e is Win32Exception or NotSupportedException or UnauthorizedAccessException)
        {
            return null; // cannot tell: only the age test remains
        }
    }

    /// <summary>
    /// Removes the stale lock whose text is <paramref name="judged"/>. Only the run holding the takeover file (created
    /// exclusively beside the lock) may remove a lock, and only if it still reads exactly as judged — so a lock that a
    /// live run has meanwhile created is never removed. True: removed (or gone); false: it changed; null: another run is
    /// taking it over.
    /// </summary>
    private static bool? TryRemoveStale(string path, string judged)
    {
        string takeover = path + ".takeover";
        FileStream guard;
        try
        {
            guard = new FileStream(takeover, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException) when (File.Exists(takeover))
        {
            // A takeover file from a run that crashed in the middle of a takeover is old: clear it.
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(takeover) > TimeSpan.FromSeconds(30))
            {
                try { File.Delete(takeover); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        try
        {
            var (raw, _) = ReadLock(path);
            if (raw is null) return true;
            if (raw != judged) return false;
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false; // held open by a live process (Windows): it is not stale after all
        }
        finally
        {
            guard.Dispose();
            try { File.Delete(takeover); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    private static readonly Lazy<DateTime?> CurrentProcessStart = new(() =>
    {
        try
        {
            using var self = Process.GetCurrentProcess();
            return self.StartTime.ToUniversalTime();
        }
        catch (Exception e) when (e is Win32Exception or NotSupportedException or InvalidOperationException)
        {
            return null;
        }
    });
}
