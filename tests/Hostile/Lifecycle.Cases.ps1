# Hostile cases for the pipeline lifecycle: a disposed pipeline is refused by every cmdlet with PipelineDisposed
# (InvalidOperation, the pipeline as target) before any other argument is looked at, also when it is disposed from another
# thread while a generation runs. The shared pipeline must stay alive, so these cases load their own: one pipeline,
# loaded and disposed by the first case that runs (a load costs seconds on a busy machine), then used by all of them.

$disposed = @{ Pipeline = $null }   # captured by reference in every case's closure
$disposedTarget = { param($target, $ctx) $target -is [StableDiffusion.PowerShell.Objects.SdPipeline] -and $target.IsDisposed }

# One case per use of a disposed pipeline; $p is the disposed pipeline inside each Use block.
$uses = [ordered]@{
    'Invoke-SdGeneration on a disposed pipeline' = { param($p, $ctx) Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    'Invoke-SdGeneration with a disposed pipeline piped in' = { param($p, $ctx) $p | Invoke-SdGeneration -Prompt 'x' -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    'Invoke-SdGeneration -OutputType Latent on a disposed pipeline' = { param($p, $ctx) Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -Width 64 -Height 64 -OutputType Latent -ErrorAction Stop }
    'Invoke-SdGeneration on a disposed pipeline into Save-SdImage writes nothing' = { param($p, $ctx) Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -Width 64 -Height 64 -ErrorAction Stop | Save-SdImage -Directory $ctx.Output -ErrorAction Stop }
    'Invoke-SdGeneration on a disposed pipeline with a garbage init image: disposed is said first' = { param($p, $ctx) Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -InitImage (Join-Path $ctx.Inputs 'garbage.png') -ErrorAction Stop }
    'Invoke-SdGeneration on a pipeline disposed twice' = { param($p, $ctx) $p.Dispose(); Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 2 -Width 64 -Height 64 -ErrorAction Stop }
    'Set-SdScheduler on a disposed pipeline' = { param($p, $ctx) Set-SdScheduler -Pipeline $p -Name 'Euler' -ErrorAction Stop }
    'Set-SdScheduler with a disposed pipeline piped in' = { param($p, $ctx) $p | Set-SdScheduler 'DPM++ 2M Karras' -ErrorAction Stop }
    'Set-SdVae on a disposed pipeline' = { param($p, $ctx) Set-SdVae -Pipeline $p -Path $ctx.Model -ErrorAction Stop }
    'Set-SdVae on a disposed pipeline with a missing VAE folder: disposed is said first' = { param($p, $ctx) Set-SdVae -Pipeline $p -Path (Join-Path $ctx.Inputs 'no-such-vae') -ErrorAction Stop }
    'Enable-SdAttentionSlicing on a disposed pipeline' = { param($p, $ctx) Enable-SdAttentionSlicing -Pipeline $p -SliceSize Max -ErrorAction Stop }
    'Enable-SdAttentionSlicing on a disposed pipeline with a bad slice size: disposed is said first' = { param($p, $ctx) Enable-SdAttentionSlicing -Pipeline $p -SliceSize 'lots' -ErrorAction Stop }
    'Disable-SdAttentionSlicing on a disposed pipeline' = { param($p, $ctx) Disable-SdAttentionSlicing -Pipeline $p -ErrorAction Stop }
    'Enable-SdVaeSlicing on a disposed pipeline' = { param($p, $ctx) Enable-SdVaeSlicing -Pipeline $p -ErrorAction Stop }
    'Disable-SdVaeSlicing on a disposed pipeline' = { param($p, $ctx) Disable-SdVaeSlicing -Pipeline $p -ErrorAction Stop }
    'Get-SdPromptToken on a disposed pipeline' = { param($p, $ctx) Get-SdPromptToken -Pipeline $p -Prompt 'a photo of a cat' -ErrorAction Stop }
    'Get-SdScheduler on a disposed pipeline' = { param($p, $ctx) Get-SdScheduler -Pipeline $p -ErrorAction Stop }
    'Add-SdEmbedding on a disposed pipeline with a missing file: disposed is said first' = { param($p, $ctx) Add-SdEmbedding -Pipeline $p -Path (Join-Path $ctx.Inputs 'none.safetensors') -ErrorAction Stop }
    'Get-SdEmbedding on a disposed pipeline' = { param($p, $ctx) Get-SdEmbedding -Pipeline $p -ErrorAction Stop }
}

# What a case needs under $ctx.Inputs before it runs.
$setups = @{
    'Invoke-SdGeneration on a disposed pipeline with a garbage init image: disposed is said first' = { param($ctx) [System.IO.File]::WriteAllBytes((Join-Path $ctx.Inputs 'garbage.png'), [byte[]](1..64)) }
}

foreach ($name in $uses.Keys) {
    $use = $uses[$name]
    $case = @{
        Name     = $name
        ErrorId  = 'PipelineDisposed,*'
        Category = 'InvalidOperation'
        Script   = {
            param($ctx)
            if ($null -eq $disposed.Pipeline) {
                $p = New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu
                $p.Dispose()
                $disposed.Pipeline = $p
            }
            & $use $disposed.Pipeline $ctx
        }.GetNewClosure()
        Target   = $disposedTarget
    }
    if ($setups.Contains($name)) { $case.Setup = $setups[$name] }
    $case
}

@{
    Name     = 'Invoke-SdGeneration while another thread disposes the pipeline'
    ErrorId  = 'PipelineDisposed,*'
    Category = 'InvalidOperation'
    Script   = {
        param($ctx)
        $p = New-SdPipeline -Path $ctx.Model -ExecutionProvider Cpu
        # Another thread disposes it 300 ms from now: a timer calling Dispose directly (a runspace costs seconds to start).
        $timer = [System.Threading.CancellationTokenSource]::new()
        $null = $timer.Token.Register([Delegate]::CreateDelegate([Action], $p, 'Dispose'))
        $timer.CancelAfter(300)
        try {
            # Long enough to still run when it is disposed (it is cancelled within a step).
            Invoke-SdGeneration -Pipeline $p -Prompt 'x' -Steps 900 -Width 64 -Height 64 -ErrorAction Stop | Save-SdImage -Directory $ctx.Output -ErrorAction Stop
        }
        finally {
            $timer.Dispose()
            $p.Dispose()
        }
    }
    Target   = $disposedTarget
}
