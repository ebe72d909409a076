using System.Management.Automation;
using StableDiffusion.Jobs;
using StableDiffusion.Models;
using StableDiffusion.Pipeline;
using StableDiffusion.PowerShell.Support;

namespace StableDiffusion.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Runs a render job file (.psd1 or .json): resumable, idempotent, safe to schedule.</para>
/// <para type="description">Validates the whole job first, then renders only the images whose files are missing or do not verify, under a lock on the output directory, with a JSON-lines log beside the images. Writes a summary.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "SdRenderJob", SupportsShouldProcess = true)]
[OutputType(typeof(RenderJobSummary))]
public sealed class InvokeSdRenderJobCommand : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();

    /// <summary>The job file: a .psd1 (read as data, never run) or a .json file.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "PSPath", "JobPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    protected override void ProcessRecord()
    {
        string full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        RenderJob job;
        try
        {
            job = JobValidator.Validate(Read(full));
        }
        catch (JobValidationException e)
        {
            WriteError(new ErrorRecord(e, "InvalidJobFile", ErrorCategory.InvalidData, full));
            return;
        }
        catch (NotSupportedException e)
        {
            WriteError(new ErrorRecord(e, "UnsupportedJobFileType", ErrorCategory.InvalidArgument, full));
            return;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            WriteError(ErrorRecords.From(e, full, "JobFileNotFound"));
            return;
        }

        var runner = new RenderJobRunner(job);
        var plan = runner.Plan();
        var toRender = plan.ToRender.ToList();
        var selected = new HashSet<RenderItem>();
        foreach (var item in toRender)
            if (ShouldProcess(item.Path, $"Render image {item.Index} (seed {item.Seed}, {item.Source}): '{Shorten(item.Prompt)}'"))
                selected.Add(item);
        int done = plan.Done.Count();
        if (!ShouldProcess(job.OutputDirectory, $"Run render job '{job.Name}': {toRender.Count} image(s) to render, {done} of {job.Items.Count} done"))
        {
            // A run reports these as failures; without a run, say so here.
            foreach (var (item, check) in plan.Blocked)
                WriteWarning($"{item.FileName} cannot be rendered: {check.Reason}");
            return;
        }

        RenderJobSummary summary;
        try
        {
            summary = runner.Run(new Observer(this, job), selected.Contains, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            throw new PipelineStoppedException();
        }
        catch (JobLockedException e)
        {
            WriteError(new ErrorRecord(e, "OutputDirectoryLocked", ErrorCategory.ResourceBusy, job.OutputDirectory));
            return;
        }
        catch (JobLockLostException e)
        {
            WriteError(new ErrorRecord(e, "OutputDirectoryLockLost", ErrorCategory.ResourceBusy, job.OutputDirectory));
            return;
        }
        catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            WriteError(ErrorRecords.From(e, e is ModelLoadException ? null : full, e is ModelLoadException ? null : "RenderJobFailed"));
            return;
        }

        foreach (var failure in summary.Failures)
        {
            var inner = failure.Exception ?? new InvalidOperationException(failure.Error);
            var record = ErrorRecords.From(inner, failure.Item, "RenderFailed");
            record.ErrorDetails = new ErrorDetails($"Image {failure.Index} '{failure.File}' (seed {failure.Seed}, {failure.Source}) failed " +
                $"after {failure.Attempts} attempt(s): {failure.Error}");
            WriteError(record);
        }
        WriteObject(summary);
    }

    protected override void StopProcessing() => _stop.Cancel();

    private static JobDocument Read(string path)
    {
        // The kind first: a .txt or .csv given here is a mistake of kind, whether or not the file exists.
        string extension = System.IO.Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".psd1" or ".json"))
            throw new NotSupportedException($"'{path}' is not a job file: a render job is a .psd1 or a .json file " +
                "(a prompt list such as .txt or .csv is named inside the job by its PromptFile key). Give the job's .psd1 or .json file.");
        if (!File.Exists(path))
            throw new FileNotFoundException(System.IO.Directory.Exists(path)
                ? $"The job file '{path}' is a folder; give the job's .psd1 or .json file."
                : $"The job file '{path}' does not exist.", path);
        return extension == ".psd1" ? PowerShellDataFile.Read(path) : JobDocument.LoadJson(path);
    }

    /// <summary>
    /// Lines show on the host like Write-Host's: always, unless -InformationAction SilentlyContinue or Ignore was given
    /// (they stay in the information stream and -InformationVariable either way).
    /// </summary>
    private bool ShowLines => !(MyInvocation.BoundParameters.TryGetValue("InformationAction", out var action)
        && LanguagePrimitives.TryConvertTo(action, out ActionPreference preference)
        && preference is ActionPreference.SilentlyContinue or ActionPreference.Ignore);

    private static string Shorten(string text) => text.Length > 60 ? text[..57] + "..." : text;

    /// <summary>
    /// Progress is for people: none when the console host runs non-interactively or writes to a file (scheduled
    /// tasks, cron, CI), where it would only add noise. $ProgressPreference is honoured by PowerShell itself.
    /// </summary>
    private bool ShowProgress => !(Host.Name == "ConsoleHost" && (NonInteractiveProcess.Value || Console.IsOutputRedirected));

    private static readonly Lazy<bool> NonInteractiveProcess = new(() =>
        Environment.GetCommandLineArgs().Skip(1).Any(a => a.Length >= 5 && "-noninteractive".StartsWith(a, StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// Each event becomes one timestamped line on the information stream, shown like Write-Host (so Start-Transcript
    /// and a scheduler's captured output hold it; -InformationAction SilentlyContinue hides it); progress when interactive.
    /// </summary>
    private sealed class Observer(InvokeSdRenderJobCommand command, RenderJob job) : RenderJobObserver
    {
        private const int JobId = 1;
        private const int StepsId = 2;
        private readonly StepProgress _steps = new(command);

        public override void OnEvent(RenderJobEvent e)
        {
            var message = new HostInformationMessage { Message = e.ToString(), NoNewLine = false };
            command.WriteInformation(message, command.ShowLines ? ["PSHOST", "SdRenderJob", e.Kind] : ["SdRenderJob", e.Kind]);
            if (e.Kind == "end" && command.ShowProgress)
            {
                command.WriteProgress(new ProgressRecord(StepsId, "Steps", "Done") { ParentActivityId = JobId, RecordType = ProgressRecordType.Completed });
                command.WriteProgress(new ProgressRecord(JobId, $"Render job '{job.Name}'", "Done") { RecordType = ProgressRecordType.Completed });
            }
        }

        public override void OnBatch(IReadOnlyList<RenderItem> batch, int done, int total)
        {
            if (!command.ShowProgress) return;
            command.WriteProgress(new ProgressRecord(JobId, $"Render job '{job.Name}'",
                $"Image {done + 1} of {total}: {batch[0].FileName}" + (batch.Count > 1 ? $" and {batch.Count - 1} more" : ""))
            {
                PercentComplete = (int)(100.0 * done / Math.Max(1, total)),
            });
        }

        public override GenerationObserver? Steps => command.ShowProgress ? _steps : null;

        private sealed class StepProgress(InvokeSdRenderJobCommand command) : GenerationObserver
        {
            public override void OnStep(StepInfo step) =>
                command.WriteProgress(new ProgressRecord(StepsId, "Denoising", $"Step {step.Iteration + 1} of {step.Iterations}")
                {
                    ParentActivityId = JobId,
                    PercentComplete = (int)(100.0 * (step.Iteration + 1) / step.Iterations),
                    SecondsRemaining = (int)Math.Ceiling(step.Elapsed.TotalSeconds * (step.Iterations - step.Iteration - 1)),
                });
        }
    }
}
