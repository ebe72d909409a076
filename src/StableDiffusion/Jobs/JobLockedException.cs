namespace StableDiffusion.Jobs;

/// <summary>Another run holds the output directory's lock (and it is alive).</summary>
public sealed class JobLockedException : IOException
{
    public JobLockedException(string lockPath, JobLockHolder? holder, string message) : base(message)
    {
        LockPath = lockPath;
        Holder = holder;
    }

    public string LockPath { get; }

    /// <summary>The holder as its lock file says, or null when the lock file cannot be read.</summary>
    public JobLockHolder? Holder { get; }
}

/// <summary>This run's lock was taken over (the run looked dead to another one); it stops rather than write beside it.</summary>
public sealed class JobLockLostException(string message) : IOException(message);
