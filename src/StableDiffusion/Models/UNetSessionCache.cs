namespace StableDiffusion.Models;

/// <summary>
/// The fixed-shape UNet sessions of one pipeline, most recently used first. A new shape beyond the capacity disposes
/// the least recently used session that no live run holds (each holds its own copy of the weights unless they share
/// <see cref="SharedWeights"/>, so the default keeps one).
/// </summary>
internal sealed class UNetSessionCache : IDisposable
{
    private readonly LinkedList<FixedShapeUNetSession> _sessions = new();
    private readonly Func<UNetShape, FixedShapeUNetSession> _create;

    public UNetSessionCache(int capacity, Func<UNetShape, FixedShapeUNetSession> create)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "At least one UNet session must be kept.");
        Capacity = capacity;
        _create = create;
    }

    public int Capacity { get; }

    /// <summary>Sessions created so far (a new shape, or one evicted earlier).</summary>
    public int Created { get; private set; }

    public IEnumerable<UNetShape> Shapes => _sessions.Select(s => s.Shape);

    public FixedShapeUNetSession Get(UNetShape shape)
    {
        for (var node = _sessions.First; node is not null; node = node.Next)
        {
            if (node.Value.Shape != shape) continue;
            _sessions.Remove(node);
            _sessions.AddFirst(node);
            return node.Value;
        }
        // Free the oldest unused before loading the next: both at once may not fit on the device. Sessions held by
        // live runs stay (sub-batches of two sizes in one loop need both), so the cache may pass its capacity meanwhile.
        for (var node = _sessions.Last; node is not null && _sessions.Count >= Capacity;)
        {
            var previous = node.Previous;
            if (node.Value.Users == 0)
            {
                node.Value.Dispose();
                _sessions.Remove(node);
            }
            node = previous;
        }
        var session = _create(shape);
        Created++;
        _sessions.AddFirst(session);
        return session;
    }

    public void Dispose()
    {
        foreach (var s in _sessions) s.Dispose();
        _sessions.Clear();
    }
}
