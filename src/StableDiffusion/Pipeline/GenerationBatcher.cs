namespace StableDiffusion.Pipeline;

/// <summary>
/// How Invoke-SdGeneration and render jobs send images to the pipeline, once for both: consecutive images with equal
/// settings go through the UNet together, up to a batch size, and a failed batch costs only its failing images — each
/// image of it is rendered once more alone, and only an image that fails alone too is reported as failed.
/// </summary>
/// <typeparam name="T">What the caller renders (a request with its settings, a job's item).</typeparam>
public sealed class GenerationBatcher<T>
{
    private readonly List<T> _pending = [];
    private readonly int _batchSize;
    private readonly Func<T, GenerationSettings> _settingsOf;

    /// <param name="batchSize">Images per UNet call (1 or more).</param>
    /// <param name="settingsOf">The settings an item is rendered with; items batch only while these are equal.</param>
    public GenerationBatcher(int batchSize, Func<T, GenerationSettings> settingsOf)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentNullException.ThrowIfNull(settingsOf);
        _batchSize = batchSize;
        _settingsOf = settingsOf;
    }

    /// <summary>Adds an item; returns the batches it makes ready: the waiting one when the settings change, and a full one.</summary>
    public IReadOnlyList<IReadOnlyList<T>> Add(T item)
    {
        var ready = new List<IReadOnlyList<T>>(2);
        if (_pending.Count > 0 && _settingsOf(_pending[0]) != _settingsOf(item) && Flush() is { } changed) ready.Add(changed);
        _pending.Add(item);
        if (_pending.Count >= _batchSize && Flush() is { } full) ready.Add(full);
        return ready;
    }

    /// <summary>The items still waiting, as one batch, or null when none wait.</summary>
    public IReadOnlyList<T>? Flush()
    {
        if (_pending.Count == 0) return null;
        var batch = _pending.ToArray();
        _pending.Clear();
        return batch;
    }

    /// <summary>All of <paramref name="items"/> in batches, in order.</summary>
    public static IEnumerable<IReadOnlyList<T>> Batches(IEnumerable<T> items, int batchSize, Func<T, GenerationSettings> settingsOf)
    {
        var batcher = new GenerationBatcher<T>(batchSize, settingsOf);
        foreach (var item in items)
            foreach (var batch in batcher.Add(item))
                yield return batch;
        if (batcher.Flush() is { } last) yield return last;
    }

    /// <summary>
    /// Renders one batch (every item has the batch's settings). Each result goes to <paramref name="deliver"/>, which
    /// owns it (and may throw, e.g. when a file cannot be written: that image then counts as failed). The failed
    /// images of a batch of several — or a lone image when <paramref name="retryLoneImage"/> — are rendered once more
    /// one at a time, after <paramref name="retrying"/>; an image that fails then (or a lone image without retry)
    /// goes to <paramref name="failed"/> with its number of attempts. Cancellation, as <paramref name="isCancellation"/>
    /// tells it, is never retried: it propagates.
    /// </summary>
    /// <typeparam name="TResult">What a render gives per image (images, or latents for a hand-off).</typeparam>
    /// <param name="batch">Items with equal settings (a batch from <see cref="Add"/>, <see cref="Flush"/> or <see cref="Batches"/>).</param>
    /// <param name="requestOf">An item's request.</param>
    /// <param name="render">Renders requests with settings: results in the order of the requests.</param>
    /// <param name="deliver">Takes an item's result and the attempt that made it (1, or 2 for a retry).</param>
    /// <param name="retrying">Told of each image about to be retried alone, and why.</param>
    /// <param name="failed">Told of each image that failed for good, and after how many attempts.</param>
    /// <param name="isCancellation">Which exceptions stop everything (never retried).</param>
    /// <param name="retryLoneImage">Whether a batch of one image is retried too (render jobs: yes; Invoke-SdGeneration: no).</param>
    public void Render<TResult>(IReadOnlyList<T> batch, Func<T, ImageRequest> requestOf,
        Func<IReadOnlyList<ImageRequest>, GenerationSettings, IReadOnlyList<TResult>> render,
        Action<T, TResult, int> deliver, Action<T, Exception> retrying, Action<T, Exception, int> failed,
        Func<Exception, bool> isCancellation, bool retryLoneImage)
    {
        if (batch.Count == 0) return;
        var settings = _settingsOf(batch[0]);
        var failures = new List<(T Item, Exception Error)>();
        IReadOnlyList<TResult>? results = null;
        try
        {
            results = render(batch.Select(requestOf).ToArray(), settings);
        }
        catch (Exception e) when (!isCancellation(e))
        {
            failures.AddRange(batch.Select(i => (i, e)));
        }
        if (results is not null)
        {
            for (int k = 0; k < batch.Count; k++)
            {
                try { deliver(batch[k], results[k], 1); }
                catch (Exception e) when (!isCancellation(e)) { failures.Add((batch[k], e)); }
            }
        }
        if (failures.Count == 0) return;
        if (batch.Count == 1 && !retryLoneImage)
        {
            failed(failures[0].Item, failures[0].Error, 1);
            return;
        }
        // Each failed image once more, alone: one bad prompt or a passing hiccup must not cost the others.
        foreach (var (item, error) in failures)
        {
            // A batch the memory pre-flight refused is not rendered image by image instead: that would silently change
            // the batch size asked for, and the error says how to make the batch fit.
            if (error is InsufficientMemoryForBatchException)
            {
                failed(item, error, 1);
                continue;
            }
            retrying(item, error);
            try
            {
                deliver(item, render([requestOf(item)], _settingsOf(item))[0], 2);
            }
            catch (Exception e) when (!isCancellation(e))
            {
                failed(item, e, 2);
            }
        }
    }
}
