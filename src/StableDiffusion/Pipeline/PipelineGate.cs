namespace StableDiffusion.Pipeline;

/// <summary>
/// Keeps native sessions alive while anything uses them. Operations enter the gate (many may be inside at once; the
/// pipeline's own lock orders them); <see cref="Close"/> refuses new ones, cancels those inside through their
/// cancellation token, waits for them to leave and only then runs the release — so nothing native is freed under a
/// running session (freeing them mid-run crashed the process). Closing is idempotent and thread-safe.
/// </summary>
internal sealed class PipelineGate
{
    private readonly object _sync = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Dictionary<int, int> _inside = []; // managed thread id → how many operations it has entered
    private readonly Func<bool, PipelineDisposedException> _disposed;
    private readonly Action _release;
    private int _active;
    private volatile bool _closed;
    private bool _released;
    private bool _releaseDone;

    /// <param name="release">Frees the native resources; runs exactly once, when the gate is closed and empty.</param>
    /// <param name="disposed">The exception for an operation refused (false) or stopped (true) by closing.</param>
    public PipelineGate(Action release, Func<bool, PipelineDisposedException> disposed)
    {
        _release = release;
        _disposed = disposed;
    }

    /// <summary>Whether <see cref="Close"/> was called (the resources may still be in use by operations leaving).</summary>
    public bool IsClosed => _closed;

    /// <summary>Whether the release has run (tests: never while an operation is inside).</summary>
    internal bool Released
    {
        get { lock (_sync) return _releaseDone; }
    }

    /// <exception cref="PipelineDisposedException">The gate is closed.</exception>
    public void ThrowIfClosed()
    {
        if (_closed) throw _disposed(false);
    }

    /// <summary>
    /// Runs <paramref name="operation"/> inside the gate with a token that is cancelled by the caller's
    /// <paramref name="cancellation"/> (Ctrl+C: its OperationCanceledException comes through as it is) or by closing
    /// (then a <see cref="PipelineDisposedException"/> comes instead).
    /// </summary>
    /// <exception cref="PipelineDisposedException">The gate was closed before or during the operation.</exception>
    public T Run<T>(CancellationToken cancellation, Func<CancellationToken, T> operation)
    {
        Enter();
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _closing.Token);
            return operation(linked.Token);
        }
        // Stopped by closing, not by the caller: say so (a session property refused mid-run is the same case).
        catch (Exception e) when (_closed && !cancellation.IsCancellationRequested && e is OperationCanceledException or PipelineDisposedException { DuringRun: false })
        {
            throw _disposed(true);
        }
        finally
        {
            Leave();
        }
    }

    /// <summary><see cref="Run{T}"/> for an operation that is not cancellable (it only waits for its turn and swaps sessions).</summary>
    public void Run(Action operation) => Run(CancellationToken.None, _ => { operation(); return true; });

    private void Enter()
    {
        lock (_sync)
        {
            if (_closed) throw _disposed(false);
            _active++;
            int thread = Environment.CurrentManagedThreadId;
            _inside[thread] = _inside.GetValueOrDefault(thread) + 1;
        }
    }

    private void Leave()
    {
        bool release;
        lock (_sync)
        {
            _active--;
            int thread = Environment.CurrentManagedThreadId;
            if (--_inside[thread] == 0) _inside.Remove(thread);
            release = TakeRelease();
            Monitor.PulseAll(_sync);
        }
        if (release) Release();
    }

    /// <summary>
    /// Refuses new operations, cancels those inside, waits for them to leave and releases the resources. Called from
    /// inside an operation (a callback disposing its own pipeline), it cannot wait for itself: the release then happens
    /// when the last operation leaves. A second call (from any thread) waits like the first and does nothing more.
    /// </summary>
    public void Close()
    {
        lock (_sync) _closed = true;
        _closing.Cancel(); // outside the lock: the callbacks (ONNX Runtime's terminate flags) run synchronously
        bool release;
        lock (_sync)
        {
            int mine = _inside.GetValueOrDefault(Environment.CurrentManagedThreadId);
            if (mine > 0) return;
            while (_active > 0) Monitor.Wait(_sync);
            release = TakeRelease();
            if (!release)
                while (!_releaseDone) Monitor.Wait(_sync); // another caller is releasing: return when it is done
        }
        if (release) Release();
    }

    private void Release()
    {
        try
        {
            _release();
        }
        finally
        {
            lock (_sync)
            {
                _releaseDone = true;
                Monitor.PulseAll(_sync);
            }
        }
    }

    /// <summary>True once, for the caller that must run the release: closed and nothing inside. Under <see cref="_sync"/>.</summary>
    private bool TakeRelease()
    {
        if (!_closed || _active > 0 || _released) return false;
        _released = true;
        return true;
    }
}
