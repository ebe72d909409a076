#requires -Version 7.4
<#
.SYNOPSIS
    Registers a Windows scheduled task that runs a render job every night (Windows only: the ScheduledTasks module).
.DESCRIPTION
    The task runs Invoke-NightlyRender.ps1 with pwsh -NoProfile -NonInteractive at -At every day, in the job file's
    folder. By default it runs as you whether or not you are logged on, without storing a password (S4U logon: local
    files only — give -Credential when the model or the output is on a network share). A run still going when the
    next one is due is left alone (MultipleInstances IgnoreNew; the job's own lock would refuse it anyway), a run
    missed while the machine was off starts when it is back (StartWhenAvailable), and a run is stopped after
    -ExecutionTimeLimit. The task's Last Run Result is the wrapper's exit code: 0 all rendered, 1 some images failed,
    2 the job could not run, 3 the output directory was locked.
.EXAMPLE
    ./Register-NightlyRenderTask.ps1 -JobPath C:\renders\nightly.psd1 -At 02:30
.EXAMPLE
    ./Register-NightlyRenderTask.ps1 -JobPath \\nas\jobs\posters.psd1 -Credential (Get-Credential) -TaskName 'Poster renders' -Force
.EXAMPLE
    Start-ScheduledTask -TaskName 'StableDiffusion nightly render'   # run it now, to try it
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # The job file the task runs.
    [Parameter(Mandatory)] [string] $JobPath,
    # When the task starts each day.
    [datetime] $At = '03:00',
    [string] $TaskName = 'StableDiffusion nightly render',
    # Folder in Task Scheduler.
    [string] $TaskPath = '\StableDiffusion\',
    # Run as this account with its password (needed for network shares); default: you, S4U, no password stored.
    [pscredential] $Credential,
    # Stop a run that takes longer than this.
    [timespan] $ExecutionTimeLimit = (New-TimeSpan -Hours 8),
    # pwsh.exe to run (default: the one running this script).
    [string] $PwshPath = $(if ((Split-Path ([Environment]::ProcessPath) -Leaf) -like 'pwsh*') { [Environment]::ProcessPath } else { (Get-Command pwsh -ErrorAction Stop).Source }),
    # The wrapper script (default: the one beside this script).
    [string] $WrapperPath = (Join-Path $PSScriptRoot 'Invoke-NightlyRender.ps1'),
    # Replace a task of the same name.
    [switch] $Force
)
$ErrorActionPreference = 'Stop'
$job = (Resolve-Path $JobPath).ProviderPath
$wrapper = (Resolve-Path $WrapperPath).ProviderPath
$folder = Split-Path $job -Parent

$arguments = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "{0}" -JobPath "{1}"' -f $wrapper, $job
$action = New-ScheduledTaskAction -Execute $PwshPath -Argument $arguments -WorkingDirectory $folder
$trigger = New-ScheduledTaskTrigger -Daily -At $At
$settings = New-ScheduledTaskSettingsSet -StartWhenAvailable -MultipleInstances IgnoreNew -ExecutionTimeLimit $ExecutionTimeLimit `
    -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
$register = @{
    TaskName    = $TaskName
    TaskPath    = $TaskPath
    Action      = $action
    Trigger     = $trigger
    Settings    = $settings
    Description = "Renders '$job' with Invoke-SdRenderJob (StableDiffusion module). Resumes where a previous run stopped."
    Force       = $Force.IsPresent
}
if ($Credential) {
    $register.User = $Credential.UserName
    $register.Password = $Credential.GetNetworkCredential().Password
}
else {
    $user = if ($env:USERDOMAIN) { "$env:USERDOMAIN\$env:USERNAME" } else { $env:USERNAME }
    $register.Principal = New-ScheduledTaskPrincipal -UserId $user -LogonType S4U -RunLevel Limited
}

if ($PSCmdlet.ShouldProcess("$TaskPath$TaskName", "Register a daily task at $($At.ToString('HH:mm')) running $arguments")) {
    Register-ScheduledTask @register
}
