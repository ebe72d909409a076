#requires -Version 7.4
<#
.SYNOPSIS
    Runs a render job for a scheduler (Task Scheduler, cron, a systemd timer) and tells it how the run went.
.DESCRIPTION
    Runs Invoke-SdRenderJob on the job file under a transcript, prints the summary, and exits with a code a scheduler
    can act on:
        0  every image of the job is rendered (this run, or an earlier one)
        1  the job ran but some images failed (they are listed in the transcript and the job's log)
        2  the job could not run: a bad job file, a model that does not load, an unexpected error
        3  the output directory is locked by another run that is still alive (a previous night's run still going)
    A run killed half way (power cut, reboot, kill -9) loses nothing: the next run renders only what is missing.
    Transcripts go to -TranscriptDirectory, one per run; those older than -KeepDays days are removed.
.EXAMPLE
    pwsh -NoProfile -NonInteractive -File ./Invoke-NightlyRender.ps1 -JobPath ./nightly.psd1
.EXAMPLE
    ./Invoke-NightlyRender.ps1 -JobPath ~/jobs/posters.json -TranscriptDirectory ~/jobs/logs -KeepDays 7
#>
[CmdletBinding()]
param(
    # The job file (.psd1 or .json).
    [string] $JobPath = (Join-Path $PSScriptRoot 'nightly.psd1'),
    # The module to import: a name on $env:PSModulePath or a path to StableDiffusion.psd1 (default: this repository's build, else the installed module).
    [string] $Module = $(if (Test-Path (Join-Path $PSScriptRoot '..' '..' 'out' 'StableDiffusion' 'StableDiffusion.psd1')) { Join-Path $PSScriptRoot '..' '..' 'out' 'StableDiffusion' 'StableDiffusion.psd1' } else { 'StableDiffusion' }),
    # Where the run's transcript goes.
    [string] $TranscriptDirectory = (Join-Path $PSScriptRoot 'logs'),
    # Transcripts older than this many days are deleted (0 keeps them all).
    [int] $KeepDays = 30
)
$ErrorActionPreference = 'Stop'
$exitCode = 2

New-Item -ItemType Directory -Force $TranscriptDirectory | Out-Null
$name = [System.IO.Path]::GetFileNameWithoutExtension($JobPath)
$transcript = Join-Path $TranscriptDirectory ('{0}-{1:yyyyMMdd-HHmmss}.log' -f $name, (Get-Date))
Start-Transcript -Path $transcript | Out-Null
try {
    if ($KeepDays -gt 0) {
        Get-ChildItem $TranscriptDirectory -Filter "$name-*.log" |
            Where-Object LastWriteTime -LT (Get-Date).AddDays(-$KeepDays) | Remove-Item -ErrorAction SilentlyContinue
    }
    if (-not (Get-Module StableDiffusion)) { Import-Module $Module }

    # Errors of single images are reported and the job goes on: -ErrorAction Continue, whatever the preference here.
    $summary = Invoke-SdRenderJob -Path $JobPath -ErrorAction Continue -ErrorVariable jobErrors
    if ($summary) {
        $summary | Format-List | Out-String | Write-Host
        $exitCode = if ($summary.Failed -gt 0) { 1 } else { 0 }
    }
    elseif ($jobErrors | Where-Object FullyQualifiedErrorId -Like 'OutputDirectoryLocked*') {
        $exitCode = 3
    }
}
catch {
    Write-Host "The render job could not run: $_"
    $exitCode = 2
}
finally {
    Write-Host "Exit code $exitCode."
    Stop-Transcript | Out-Null
}
exit $exitCode
