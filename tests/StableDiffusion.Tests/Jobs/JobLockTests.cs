using System.Diagnostics;
using StableDiffusion.Jobs;

namespace StableDiffusion.Tests.Jobs;

/// <summary>One run per output directory; a crashed run's lock is recognised and taken over, a live one never.</summary>
public sealed class JobLockTests : IDisposable
{
    private readonly JobScratch _scratch = new();
    private string LockPath => Path.Combine(_scratch.Folder, JobLock.FileName);

    public void Dispose() => _scratch.Dispose();

    private void WriteLock(int pid, string host, DateTime heartbeat, DateTime? processStart = null) =>
        File.WriteAllText(LockPath, new JobLockHolder
        {
            ProcessId = pid,
            ProcessStartUtc = processStart,
            Host = host,
            User = "someone",
            Job = "other.psd1",
            StartedUtc = heartbeat.AddMinutes(-5),
            HeartbeatUtc = heartbeat,
            Token = Guid.NewGuid().ToString("N"),
        }.ToJson());

    /// <summary>The lock file's holder (read again if caught in the middle of a heartbeat rewrite).</summary>
    private JobLockHolder Holder()
    {
        for (int attempt = 0; ; attempt++)
        {
            var holder = JobLockHolder.TryParse(File.ReadAllText(LockPath));
            if (holder is not null || attempt == 20) return holder!;
            Thread.Sleep(10);
        }
    }

    /// <summary>The id of a process that has just exited.</summary>
    private static int DeadProcessId()
    {
        var start = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd.exe", "/c exit") { UseShellExecute = false }
            : new ProcessStartInfo("/bin/sh", "-c exit") { UseShellExecute = false };
        using var p = Process.Start(start)!;
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void ASecondRunIsRefusedWithAMessageNamingTheHolder()
    {
        using (var first = JobLock.Acquire(_scratch.Folder, "nightly.psd1"))
        {
            Assert.True(File.Exists(LockPath));
            var e = Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "other.psd1"));
            Assert.Contains($"is in use by another render job: process {Environment.ProcessId} on host '{Environment.MachineName}'", e.Message);
            Assert.Contains("job 'nightly.psd1'", e.Message);
            Assert.Contains($"delete '{LockPath}'", e.Message);
            Assert.Equal(first.Holder.Token, e.Holder!.Token);
        }
        Assert.False(File.Exists(LockPath), "a finished run removes its lock");
        using var again = JobLock.Acquire(_scratch.Folder, "other.psd1");
        Assert.Null(again.Replaced);
    }

    [Fact]
    public void ALockOfAProcessThatIsGoneFromThisHostIsTakenOver()
    {
        int dead = DeadProcessId();
        WriteLock(dead, Environment.MachineName, DateTime.UtcNow);
        using var taken = JobLock.Acquire(_scratch.Folder, "job");
        Assert.Equal(dead, taken.Replaced!.ProcessId);
        Assert.Contains($"process {dead} on this host", taken.ReplacedReason);
        Assert.Equal(taken.Holder.Token, Holder().Token);
        Assert.Equal([LockPath], Directory.GetFiles(_scratch.Folder));
    }

    [Fact]
    public void AProcessIdReusedByALaterProcessDoesNotKeepTheLock()
    {
        var myStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        WriteLock(Environment.ProcessId, Environment.MachineName, DateTime.UtcNow, myStart.AddHours(-3));
        using var taken = JobLock.Acquire(_scratch.Folder, "job");
        Assert.Contains("a later process than the one that took the lock", taken.ReplacedReason);
    }

    [Fact]
    public void ALiveProcessKeepsItsLockWhateverItsHeartbeatSaysUntilItIsTooOld()
    {
        var myStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        WriteLock(Environment.ProcessId, Environment.MachineName, DateTime.UtcNow.AddMinutes(-10), myStart);
        Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "job"));
        WriteLock(Environment.ProcessId, Environment.MachineName, DateTime.UtcNow.AddHours(-2), myStart);
        using var taken = JobLock.Acquire(_scratch.Folder, "job", new JobLockOptions { StaleAfter = TimeSpan.FromHours(1) });
        Assert.Contains("no sign of life for more than", taken.ReplacedReason);
    }

    [Fact]
    public void AnotherHostsLockIsStaleOnlyWhenTooOld()
    {
        WriteLock(12345, "render-node-7", DateTime.UtcNow.AddMinutes(-5));
        var e = Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "job"));
        Assert.Contains("process 12345 on host 'render-node-7' (user someone)", e.Message);
        Assert.Contains("last active 5 min ago", e.Message);

        WriteLock(12345, "render-node-7", DateTime.UtcNow.AddMinutes(-45));
        using var taken = JobLock.Acquire(_scratch.Folder, "job");
        Assert.Equal("render-node-7", taken.Replaced!.Host);
    }

    [Fact]
    public void AnUnreadableLockIsJudgedByItsAge()
    {
        // Just created and not yet written, as a live run's lock is for a moment: left alone.
        File.WriteAllText(LockPath, "");
        Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "job"));
        // Still unreadable well after: a run crashed between creating and writing it.
        File.SetLastWriteTimeUtc(LockPath, DateTime.UtcNow - JobLock.UnreadableStaleAfter - TimeSpan.FromSeconds(1));
        using var taken = JobLock.Acquire(_scratch.Folder, "job");
        Assert.Null(taken.Replaced);
        Assert.Contains("cannot be read", taken.ReplacedReason);
    }

    [Fact]
    public void ALockWhoseTimesAreUnreadableIsStillJudgedByItsProcess()
    {
        // A crash in the middle of a heartbeat rewrite can leave an impossible time; the dead process still shows.
        int dead = DeadProcessId();
        File.WriteAllText(LockPath, $$"""{"pid":{{dead}},"host":"{{Environment.MachineName}}","user":"u","job":"j","started":"2024-13-45T99:00:00Z","heartbeat":"2024-01-01T29:69:00Z","token":"t"}""");
        using var taken = JobLock.Acquire(_scratch.Folder, "job");
        Assert.Contains($"process {dead} on this host", taken.ReplacedReason);
        Assert.Contains("last active: unknown", taken.Replaced!.Describe(DateTime.UtcNow));
    }

    [Fact]
    public void TheHeartbeatRefreshesTheLockAndALostLockIsNoticed()
    {
        using var held = JobLock.Acquire(_scratch.Folder, "job", new JobLockOptions { HeartbeatInterval = TimeSpan.FromMilliseconds(50) });
        var first = held.Holder.HeartbeatUtc;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Holder().HeartbeatUtc == first && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.True(Holder().HeartbeatUtc > first, "the timer rewrites the heartbeat");
        Assert.True(held.StillOwned());

        // Another run judged it stale and replaced it (a machine that slept past the stale age, say).
        File.Delete(LockPath);
        WriteLock(4242, "elsewhere", DateTime.UtcNow);
        Assert.False(held.StillOwned());
        var e = Assert.Throws<JobLockLostException>(held.EnsureOwned);
        Assert.Contains("process 4242 on host 'elsewhere'", e.Message);
        held.Dispose();
        Assert.True(File.Exists(LockPath), "a run never deletes a lock that is not its own");
    }

    [Fact]
    public void OfManyRunsRacingForAStaleLockExactlyOneWins()
    {
        WriteLock(DeadProcessId(), Environment.MachineName, DateTime.UtcNow.AddHours(-5));
        const int runs = 8;
        using var barrier = new Barrier(runs);
        var winners = new JobLock?[runs];
        // Threads of their own, all released at once (the thread pool would start them one by one).
        var threads = Enumerable.Range(0, runs).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            try { winners[i] = JobLock.Acquire(_scratch.Folder, $"run {i}"); }
            catch (JobLockedException) { }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        var won = winners.Where(w => w is not null).ToList();
        Assert.Single(won);
        Assert.True(won[0]!.StillOwned());
        won[0]!.Dispose();
        Assert.False(File.Exists(LockPath));
    }

    [Fact]
    public void AHeartbeatDatedInTheFutureDoesNotLockTheFolderForever()
    {
        // Another host's lock, its heartbeat a year ahead (a wrong clock), its file untouched for an hour: a crashed run.
        WriteLock(4242, "elsewhere", DateTime.UtcNow.AddYears(1));
        File.SetLastWriteTimeUtc(LockPath, DateTime.UtcNow.AddHours(-1));
        using var taken = JobLock.Acquire(_scratch.Folder, "job", new JobLockOptions { StaleAfter = TimeSpan.FromMinutes(30) });
        Assert.Contains("dated in the future", taken.ReplacedReason);
    }

    [Fact]
    public void AFutureHeartbeatWhoseFileIsFreshIsStillALiveLock()
    {
        // The same clock error on a host whose run is alive: its rewrites keep the file's time fresh.
        WriteLock(4242, "elsewhere", DateTime.UtcNow.AddYears(1));
        Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "job", new JobLockOptions { StaleAfter = TimeSpan.FromMinutes(30) }));
    }

    [Fact]
    public void AHeartbeatAFewMinutesAheadIsBelieved()
    {
        // Within the clock-skew tolerance the heartbeat is taken at its word, even if the file looks old.
        WriteLock(4242, "elsewhere", DateTime.UtcNow.AddMinutes(2));
        File.SetLastWriteTimeUtc(LockPath, DateTime.UtcNow.AddHours(-1));
        Assert.Throws<JobLockedException>(() => JobLock.Acquire(_scratch.Folder, "job", new JobLockOptions { StaleAfter = TimeSpan.FromMinutes(30) }));
    }
}
