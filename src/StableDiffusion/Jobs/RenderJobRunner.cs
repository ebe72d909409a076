using System.Diagnostics;
using StableDiffusion.Imaging;
using StableDiffusion.Pipeline;

namespace StableDiffusion.Jobs;

/// <summary>
/// Runs a job so that a crash loses nothing and a rerun redoes nothing: under the output directory's lock it verifies
/// what exists (by metadata), renders only the rest — each PNG written atomically —, retries a failed image once,
/// records a second failure and goes on, and appends every event to a JSON-lines log beside the outputs.
/// The model is loaded only when something is left to render.
/// </summary>
public sealed partial class RenderJobRunner
{
    /// <summary>The log's file name in the output directory.</summary>
    public const string LogFileName = "sd-render.log.jsonl";

    private readonly Func<RenderJob, IRenderEngine> _engineFactory;
    private readonly JobLockOptions _lockOptions;

    /// <param name="job">A validated job.</param>
    /// <param name="engineFactory">Loads what renders (default: the job's model through <see cref="PipelineRenderEngine"/>).</param>
    /// <param name="lockOptions">Stale-lock age and heartbeat.</param>
    public RenderJobRunner(RenderJob job, Func<RenderJob, IRenderEngine>? engineFactory = null, JobLockOptions? lockOptions = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        Job = job;
        _engineFactory = engineFactory ?? PipelineRenderEngine.Load;
        _lockOptions = lockOptions ?? new JobLockOptions();
    }

    public RenderJob Job { get; }

    /// <summary>Looks at every output (reads only; takes no lock): what is done, what is left.</summary>
    public RenderPlan Plan() => new(Job.Items.Select(i => (i, OutputVerifier.Check(i))).ToList());

    /// <summary>Runs the job.</summary>
    /// <param name="observer">Receives events and progress.</param>
    /// <param name="include">Which of the items left to render to render (default: all); for -Confirm.</param>
    /// <param name="cancellation">Stops between denoising steps; the images already saved stay, the log says so.</param>
    /// <exception cref="JobLockedException">Another live run holds the output directory.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public RenderJobSummary Run(RenderJobObserver? observer = null, Func<RenderItem, bool>? include = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(Job.OutputDirectory);
        using var jobLock = JobLock.Acquire(Job.OutputDirectory, Path.GetFileName(Job.Source), _lockOptions);
        using var log = new JobLog(Job.LogPath);
        var run = new RunState(this, log, observer, jobLock, cancellation);

        if (jobLock.Replaced is { } old)
            run.Emit("takeover", $"took over a stale lock: {jobLock.ReplacedReason}", data: new Dictionary<string, object?>
            {
                ["previous_pid"] = old.ProcessId, ["previous_host"] = old.Host, ["previous_started"] = old.StartedUtc, ["reason"] = jobLock.ReplacedReason,
            });
        // The lock keeps every other writer out of this folder, so every leftover of ours is abandoned, whatever its age.
        var (removed, failed) = AtomicFile.RemoveLeftovers(Job.OutputDirectory, olderThan: TimeSpan.Zero);
        foreach (var leftover in removed)
            run.Emit("cleanup", $"removed '{Path.GetFileName(leftover)}', left by an interrupted write");
        foreach (var (leftover, error) in failed)
            run.Emit("warning", $"cannot remove '{Path.GetFileName(leftover)}': {error}");

        var plan = Plan();
        var states = plan.Entries.ToDictionary(e => e.Item, e => e.Check);
        var candidates = plan.Entries.Where(e => e.Check.State != OutputState.Verified).ToList();
        // A name taken by a file no job wrote is always reported (as a failure), whatever was selected.
        var selected = candidates.Where(e => e.Check.State == OutputState.Foreign || (include?.Invoke(e.Item) ?? true)).ToList();
        var toRender = selected.Where(e => e.Check.State != OutputState.Foreign).Select(e => e.Item).ToList();
        int skipped = plan.Entries.Count - candidates.Count;
        run.Emit("start", $"job '{Job.Name}': {Job.Items.Count} images, {skipped} already done, {toRender.Count} to render, in '{Job.OutputDirectory}'",
            data: new Dictionary<string, object?>
            {
                ["job"] = Job.Source, ["pid"] = Environment.ProcessId, ["host"] = Environment.MachineName,
                ["total"] = Job.Items.Count, ["skipped"] = skipped, ["to_render"] = toRender.Count, ["not_selected"] = candidates.Count - selected.Count,
            });
        foreach (var (item, check) in selected.Where(e => e.Check.State == OutputState.Foreign))
            run.Fail(item, new IOException(check.Reason), attempts: 0);

        TimeSpan renderTime = TimeSpan.Zero;
        try
        {
            if (toRender.Count > 0)
            {
                run.Emit("load", $"loading model '{Job.ModelName}' ({Job.Provider}, scheduler {Job.Scheduler})");
                using var engine = _engineFactory(Job);
                foreach (var note in engine.Notes) run.Emit("warning", note);
                var renderClock = Stopwatch.StartNew();
                run.RenderAll(engine, toRender, states);
                renderTime = renderClock.Elapsed;
            }
        }
        catch (Exception e)
        {
            bool cancelled = e is OperationCanceledException && cancellation.IsCancellationRequested;
            run.Emit("end", cancelled ? "cancelled; the images saved so far are kept, a rerun renders the rest" : $"stopped: {e.Message}",
                error: cancelled ? null : e.Message, data: run.Counts(skipped, clock.Elapsed, cancelled ? "cancelled" : "error"));
            throw;
        }

        var summary = new RenderJobSummary
        {
            Job = Job.Source,
            OutputDirectory = Job.OutputDirectory,
            LogPath = Job.LogPath,
            Total = Job.Items.Count,
            Rendered = run.Rendered,
            Skipped = skipped,
            Replaced = run.Replaced,
            NotSelected = candidates.Count - selected.Count,
            Failures = run.Failures,
            Elapsed = clock.Elapsed,
            ImagesPerMinute = run.Rendered == 0 || renderTime <= TimeSpan.Zero ? 0 : run.Rendered / renderTime.TotalMinutes,
        };
        run.Emit("end", $"done: {summary}", data: run.Counts(skipped, clock.Elapsed, summary.Failed == 0 ? "completed" : "completed with failures", summary.ImagesPerMinute));
        return summary;
    }

    /// <summary>The state of one run: counters, failures and the rendering loop.</summary>
    private sealed class RunState(RenderJobRunner runner, JobLog log, RenderJobObserver? observer, JobLock jobLock, CancellationToken cancellation)
    {
        private readonly List<RenderFailure> _failures = [];
        private int _done;
        private int _total;

        public int Rendered { get; private set; }
        public int Replaced { get; private set; }
        public IReadOnlyList<RenderFailure> Failures => _failures;

        public void Emit(string kind, string message, RenderItem? item = null, int? attempt = null, TimeSpan? elapsed = null,
            string? error = null, IReadOnlyDictionary<string, object?>? data = null)
        {
            var e = new RenderJobEvent { Kind = kind, Message = message, Item = item, Attempt = attempt, Elapsed = elapsed, Error = error, Data = data };
            log.Write(e);
            observer?.OnEvent(e);
        }

        public Dictionary<string, object?> Counts(int skipped, TimeSpan elapsed, string status, double? perMinute = null) => new()
        {
            ["status"] = status, ["rendered"] = Rendered, ["skipped"] = skipped, ["failed"] = _failures.Count,
            ["elapsed_seconds"] = Math.Round(elapsed.TotalSeconds, 3), ["images_per_minute"] = perMinute is null ? null : Math.Round(perMinute.Value, 3),
        };

        public void RenderAll(IRenderEngine engine, List<RenderItem> items, Dictionary<RenderItem, OutputCheck> states)
        {
            _total = items.Count;
            // Batches of consecutive items with the same settings (one UNet call renders them together); a failed image
            // is retried once alone (the library's batcher, as Invoke-SdGeneration's), a second failure is recorded.
            var batcher = new GenerationBatcher<RenderItem>(runner.Job.BatchSize, i => i.Settings);
            foreach (var batch in GenerationBatcher<RenderItem>.Batches(items, runner.Job.BatchSize, i => i.Settings))
            {
                cancellation.ThrowIfCancellationRequested();
                jobLock.EnsureOwned();
                observer?.OnBatch(batch, _done, _total);
                var clock = Stopwatch.StartNew();
                batcher.Render(batch, i => i.Request,
                    (requests, settings) => engine.Render(requests, settings, observer?.Steps, cancellation),
                    deliver: (item, result, attempt) =>
                    {
                        using (result)
                            Save(item, result, states[item], attempt, attempt == 1 ? clock.Elapsed / batch.Count : clock.Elapsed);
                    },
                    retrying: (item, error) =>
                    {
                        Emit("retry", $"retry {item.FileName} (seed {item.Seed}) after: {error.Message}", item, attempt: 1, error: error.Message);
                        clock.Restart();
                    },
                    failed: (item, error, attempts) => Fail(item, error, attempts),
                    isCancellation: e => IsCancellation(e),
                    retryLoneImage: true);
                jobLock.Heartbeat();
            }
        }

        public void Fail(RenderItem item, Exception error, int attempts)
        {
            _failures.Add(new RenderFailure(item, error.Message, attempts, error));
            _done++;
            Emit("fail", $"FAILED {item.FileName} (seed {item.Seed}, {item.Source}) after {attempts} attempt{(attempts == 1 ? "" : "s")}: {error.Message}",
                item, attempt: attempts, error: error.Message);
        }

        private void Save(RenderItem item, GenerationResult result, OutputCheck before, int attempt, TimeSpan elapsed)
        {
            var parameters = result.ToParameters() with { Index = item.Index, Loras = item.Expected.Loras }; // the job fused them into its pipeline
            if (OutputVerifier.Difference(parameters, item.Expected) is { } difference)
                Emit("warning", $"{item.FileName}: the image records other parameters than the job predicted ({difference}); a rerun will not trust it", item);
            var text = parameters.ToPngText();
            text[OutputVerifier.JobKey] = OutputVerifier.JobRecord(item);
            // Atomic: a temporary file beside the target, flushed, then renamed over it.
            PngFile.SaveWithText(result.Image, item.Path, text, overwrite: before.State != OutputState.Missing);
            Rendered++;
            _done++;
            string replaced = before.State is OutputState.Outdated or OutputState.Damaged ? $", replacing a file that {before.Reason}" : "";
            if (replaced.Length > 0) Replaced++;
            Emit("render", $"render {_done}/{_total} {item.FileName} seed {item.Seed} ({elapsed.TotalSeconds:0.0} s{(attempt > 1 ? ", second attempt" : "")}{replaced})",
                item, attempt, elapsed, data: replaced.Length > 0 ? new Dictionary<string, object?> { ["replaced"] = before.State.ToString().ToLowerInvariant() } : null);
        }

        private bool IsCancellation(Exception e) => e is OperationCanceledException && cancellation.IsCancellationRequested;

        private static bool IsWriteError(Exception e) => e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException;
    }
}
